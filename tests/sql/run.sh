#!/usr/bin/env bash
# run.sh - runs the pgTAP tests of the schema's own rules (tests/sql/*.sql) against
# a fresh database on the shared test cluster, migrated by the real CLI.
#   PC_PG_DIR      the cluster made by tests/integration/pg.sh (holds conninfo)
#   PC_POINTCLEAR  the pointclear binary
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=$(cat "$PC_PG_DIR/conninfo")
db="t_sql_$$"
cleanup() { psql "$base dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; }
trap cleanup EXIT
psql "$base dbname=postgres" -qAtc "CREATE DATABASE $db"
"$PC_POINTCLEAR" --db "$base dbname=$db" migrate >/dev/null
psql "$base dbname=$db" -qAtc "CREATE EXTENSION pgtap"
host=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$base")
pg_prove --host "$host" --username postgres --dbname "$db" --verbose "$here"/test_*.sql
