#!/usr/bin/env bash
# run.sh - runs the pgTAP tests of the schema's own rules (tests/sql/*.sql), each
# file against a fresh database on the shared test cluster, migrated by the real
# CLI: the planner's choices depend on what a table held before, rolled back or not.
#   PC_PG_DIR      the cluster made by tests/integration/pg.sh (holds conninfo)
#   PC_POINTCLEAR  the pointclear binary
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=$(cat "$PC_PG_DIR/conninfo")
host=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$base")
db=""
cleanup() {
	[ -z "$db" ] || psql "$base dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for file in "$here"/test_*.sql; do
	db="t_sql_$$_$(basename "$file" .sql)"
	psql "$base dbname=postgres" -qAtc "CREATE DATABASE $db"
	"$PC_POINTCLEAR" --db "$base dbname=$db" migrate >/dev/null
	psql "$base dbname=$db" -qAtc "CREATE EXTENSION pgtap"
	pg_prove --host "$host" --username postgres --dbname "$db" --verbose "$file"
	cleanup
	db=""
done
