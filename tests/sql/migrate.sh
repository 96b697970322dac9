#!/usr/bin/env bash
# migrate.sh - `pointclear migrate` applies the numbered migrations once, then each
# sql/functions/ file, in name order, whenever its text differs from the one last
# applied; it refuses, untouched, a database a pre-0.1.0 development build made;
# and the build refuses a numbered migration that defines a function.
#   PC_PG_DIR      the cluster made by tests/integration/pg.sh (holds conninfo)
#   PC_POINTCLEAR  the pointclear binary
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sql=$here/../../sql
base=$(cat "$PC_PG_DIR/conninfo")
db="t_migrate_$$"
dbs="$db ${db}_old"
tmp=$(mktemp -d)
cleanup() {
	for d in $dbs; do
		psql "$base dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "migrate.sh: $*" >&2; exit 1; }
q() { psql -X "$base dbname=$db" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
# the daemon's group role belongs to the cluster: the first migrate of any
# database on it says it made it, the others find it there
migrate() { "$PC_POINTCLEAR" --db "$base dbname=$db" migrate | grep -vx 'created role pointclear_daemon'; }
batch=functions/40_record_batch.sql
has_guard() { q "SELECT position('phase 1 aggregated event' IN prosrc) > 0 FROM pg_proc WHERE proname = 'pc_decide_and_record'"; }

psql "$base dbname=postgres" -qAtc "CREATE DATABASE $db"

# a new database: every migration in order, then every function file in name order
out=$(migrate)
expected=$( (cd "$sql" && ls | grep -E '^[0-9]{3}_.*\.sql$' | sort; cd functions && ls *.sql | sort | sed 's|^|functions/|') |
	sed 's/^/applied /')
[ "$out" = "$expected" ] || fail "unexpected first run: $out"
[ "$(has_guard)" = t ] || fail "pc_decide_and_record is not the definition in sql/functions/"
[ "$(q "SELECT count(*) FROM pg_roles WHERE rolname = 'pointclear_daemon' AND NOT rolcanlogin
        AND NOT rolsuper AND NOT rolcreaterole AND NOT rolcreatedb")" = 1 ] ||
	fail "migrate left no group role pointclear_daemon without rights of its own"
for f in "$sql"/functions/*.sql; do
	name=functions/$(basename "$f")
	[ "$(q "SELECT encode(sha256, 'hex') FROM schema_functions WHERE name = '$name'")" = \
	  "$(sha256sum "$f" | cut -c1-64)" ] || fail "recorded hash of $name is not the file's"
done

# nothing changed: nothing applied
[ "$(migrate)" = "up to date" ] || fail "a second run applied something"

# a database whose function is another text (the file's, its guard taken out):
# that file is applied again, and only it
sed 's/phase 1 aggregated event/phase 1 out of order/' "$sql/$batch" |
	psql -X "$base dbname=$db" -q -v ON_ERROR_STOP=1 >/dev/null
q "UPDATE schema_functions SET sha256 = sha256('older') WHERE name = '$batch'"
[ "$(has_guard)" = f ] || fail "the other text did not replace the function"
[ "$(migrate)" = "applied $batch" ] || fail "a changed definition was not applied once"
[ "$(has_guard)" = t ] || fail "the definition was recorded but not applied"
[ "$(migrate)" = "up to date" ] || fail "the definition was applied twice"

# a database a pre-0.1.0 development build made (migrations 001_core.sql ..
# 012): refused with the reason, and left as it is
old=${db}_old
psql "$base dbname=postgres" -qAtc "CREATE DATABASE $old"
psql -X "$base dbname=$old" -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL,
                                applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO schema_migrations (version, name) VALUES (1, '001_core.sql'), (2, '002_ledger.sql'),
    (12, '012_leaf_in_daemon.sql');
CREATE TABLE alliances (alliance_id text PRIMARY KEY);
SQL
schema_of() { pg_dump --schema-only "$base dbname=$old" | grep -v '^\\\(un\)\?restrict '; }
before=$(schema_of)
if out=$("$PC_POINTCLEAR" --db "$base dbname=$old" migrate 2>&1); then
	fail "a pre-0.1.0 database was migrated: $out"
fi
grep -q 'created by a pre-0.1.0 development build.*recreate it' <<<"$out" ||
	fail "a pre-0.1.0 database was refused without saying why: $out"
[ "$(schema_of)" = "$before" ] || fail "a refused database was changed"

# the build refuses a numbered migration that defines a function (sql/embed.cmake)
mkdir -p "$tmp/sql/functions"
cp "$sql"/[0-9][0-9][0-9]_*.sql "$tmp/sql/"
printf -- '-- CREATE FUNCTION named in a comment is fine\nALTER TABLE ledger ADD x int;\n' >"$tmp/sql/900_ok.sql"
cmake -DOUT="$tmp/m.c" -DDIR="$tmp/sql" -P "$sql/embed.cmake" >/dev/null 2>&1 ||
	fail "a migration that defines no function was refused"
printf 'ALTER TABLE ledger ADD y int;\ncreate or replace\n  function pc_f() returns int language sql return 1;\n' \
	>"$tmp/sql/901_bad.sql"
if out=$(cmake -DOUT="$tmp/m.c" -DDIR="$tmp/sql" -P "$sql/embed.cmake" 2>&1); then
	fail "a migration that defines a function was embedded"
fi
grep -q '901_bad.sql: a numbered migration defines a function' <<<"$out" ||
	fail "the build refused a migration without saying why: $out"
rm "$tmp/sql/901_bad.sql"
printf 'CREATE PROCEDURE pc_p() LANGUAGE sql AS $$ SELECT 1 $$;\n' >"$tmp/sql/902_bad.sql"
if cmake -DOUT="$tmp/m.c" -DDIR="$tmp/sql" -P "$sql/embed.cmake" >/dev/null 2>&1; then
	fail "a migration that defines a procedure was embedded"
fi
echo "migrate.sh: ok"
