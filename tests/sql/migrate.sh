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
cleanup() { psql "$base dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; }
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
echo "migrate.sh: ok"
