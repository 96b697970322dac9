#!/usr/bin/env bash
# migrate.sh - `pointclear migrate` applies the numbered migrations once, then each
# sql/functions/ definition whenever its text differs from the one last applied.
#   PC_PG_DIR      the cluster made by tests/integration/pg.sh (holds conninfo)
#   PC_POINTCLEAR  the pointclear binary
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sql=$here/../../sql
base=$(cat "$PC_PG_DIR/conninfo")
db="t_migrate_$$"
dbs="$db ${db}_bad ${db}_good"
cleanup() {
	for d in $dbs; do
		psql "$base dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT
fail() { echo "migrate.sh: $*" >&2; exit 1; }
q() { psql -X "$base dbname=$db" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
migrate() { "$PC_POINTCLEAR" --db "$base dbname=$db" migrate; }
has_guard() { q "SELECT position('phase 1 aggregated event' IN prosrc) > 0 FROM pg_proc WHERE proname = 'pc_decide_and_record'"; }

psql "$base dbname=postgres" -qAtc "CREATE DATABASE $db"

# a new database: every migration in order, then the function's one definition
out=$(migrate)
last=$(ls "$sql" | grep -E '^[0-9]{3}_.*\.sql$' | sort | tail -1)
[ "$(tail -2 <<<"$out")" = "applied $last
applied functions/pc_decide_and_record.sql" ] || fail "unexpected first run: $out"
[ "$(has_guard)" = t ] || fail "pc_decide_and_record is not the definition in sql/functions/"
[ "$(q "SELECT encode(sha256, 'hex') FROM schema_functions WHERE name = 'functions/pc_decide_and_record.sql'")" = \
  "$(sha256sum "$sql/functions/pc_decide_and_record.sql" | cut -c1-64)" ] || fail "recorded hash is not the file's"

# nothing changed: nothing applied
[ "$(migrate)" = "up to date" ] || fail "a second run applied something"

# a database whose function is an older text (009's, as after migration 009):
# the definition is applied again, and only it
sed -n '/^CREATE OR REPLACE FUNCTION pc_decide_and_record(/,$p' "$sql/009_lighter_rows.sql" |
	psql -X "$base dbname=$db" -q -v ON_ERROR_STOP=1 >/dev/null
q "UPDATE schema_functions SET sha256 = sha256('009')"
[ "$(has_guard)" = f ] || fail "009's definition did not replace the function"
[ "$(migrate)" = "applied functions/pc_decide_and_record.sql" ] || fail "a changed definition was not applied once"
[ "$(has_guard)" = t ] || fail "the definition was recorded but not applied"
[ "$(migrate)" = "up to date" ] || fail "the definition was applied twice"

# Migration 012 drops the ledger's stored leaf hash only when every stored hash is
# the hash of its entry. at_011 DB SQL: a database as after migration 011, made by
# migrating a new one and undoing 012 (its function gone, the column as 002 made
# it), holding one entry whose stored hash is SQL.
at_011() {
	psql "$base dbname=postgres" -qAtc "CREATE DATABASE $1"
	"$PC_POINTCLEAR" --db "$base dbname=$1" migrate >/dev/null
	psql -X "$base dbname=$1" -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
DELETE FROM schema_migrations WHERE version = 12;
DROP FUNCTION pc_entry_leaf_hash(ledger);
ALTER TABLE ledger ADD COLUMN leaf_hash bytea NOT NULL CHECK (octet_length(leaf_hash) = 32);
INSERT INTO ledger (alliance_id, seq, accepted_at, merchant_id, event_id, key_id, kind,
                    event_time, store_id, terminal_id, envelope, payload_hash, status, code,
                    balance, available, applied, remaining, hold_expires_at_us, leaf_hash)
VALUES ('al', 0, '2026-12-01 10:00:00.123456+00', 'cafe', 'e1', '00000000000000aa', 1, now(),
        's', 't', '\\x0102', '\\x03', 1, 0, 100, 100, 100, 100, 0, $2);
SQL
}
has_column() { psql -X "$base dbname=$1" -qAt -c "SELECT count(*) FROM pg_attribute
	WHERE attrelid = 'ledger'::regclass AND attname = 'leaf_hash' AND NOT attisdropped"; }
leaf_of_row="pc_leaf_hash('al', 0, pc_us('2026-12-01 10:00:00.123456+00'), '\\x0102', 1::smallint,
	0::smallint, 100, 100, 100, 100, 0, '\\x')"

at_011 "${db}_bad" "sha256('\\x')"
if out=$("$PC_POINTCLEAR" --db "$base dbname=${db}_bad" migrate 2>&1); then
	fail "012 dropped leaf hashes that were not their entries' hashes: $out"
fi
grep -q 'store a leaf hash that is not the hash of the entry' <<<"$out" ||
	fail "012 refused without saying why: $out"
[ "$(has_column "${db}_bad")" = 1 ] || fail "012 refused but the column is gone"

at_011 "${db}_good" "$leaf_of_row"
"$PC_POINTCLEAR" --db "$base dbname=${db}_good" migrate >/dev/null || fail "012 refused a sound ledger"
[ "$(has_column "${db}_good")" = 0 ] || fail "012 left the stored leaf hash"
echo "migrate.sh: ok"
