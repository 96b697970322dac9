#!/usr/bin/env bash
# bench_smoke.sh - pointclear-bench end to end at toy size, on the shared test
# cluster: every phase runs (both limits, idle connections, the closed loop, an
# open-loop rate with the daemon's own account of it and its writer backend's CPU,
# the naive baseline's database sessions) and its report holds together. It asserts
# what the bench must get right whatever the machine's speed: the pre-signed
# workload is accepted (no answer rejected or retryable), the ledger holds at
# least what the report says was recorded, and every line the report promises is
# there. No figure is compared with a time.
#   PC_PG_DIR      the cluster made by tests/integration/pg.sh (holds conninfo)
#   PC_POINTCLEAR  the pointclear binary
#   PC_BENCH       the pointclear-bench binary
#   PC_POINTCLEARD the daemon
set -euo pipefail
base=$(cat "$PC_PG_DIR/conninfo")
db="t_bench_$$"
work=$(mktemp -d /tmp/pcbench-smoke.XXXXXX)
cleanup() {
	psql -X "$base dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	psql -X "$base dbname=postgres" -qAtc "DROP ROLE IF EXISTS ${db}_d" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "bench_smoke: $*" >&2; echo "--- report:" >&2; cat "$work/report" >&2; exit 1; }

psql -X "$base dbname=postgres" -qAtc "CREATE DATABASE $db"
pc=("$PC_POINTCLEAR" --db "$base dbname=$db" --home "$work/home")
"${pc[@]}" migrate >/dev/null
"${pc[@]}" init >/dev/null
# the daemon under test connects as its own least-privilege role
"${pc[@]}" admin daemon-role "${db}_d" >/dev/null
"$PC_BENCH" --db "$base dbname=$db" --daemon-db "$base dbname=$db user=${db}_d" \
	--home "$work/home" --pointclear "$PC_POINTCLEAR" \
	--daemon "$PC_POINTCLEARD" --merchants 3 --members 500 \
	--connections 4 --pipeline 8 --duration 2 --warmup 1 --baseline-duration 2 \
	--idle 20 --rates 50 --sweep-duration 2 --max-events 20000 \
	--csv "$work/sweep.csv" --log-dir "$work/logs" >"$work/report" 2>"$work/progress" \
	|| { cat "$work/progress" >&2; fail "pointclear-bench exited $?"; }
"$PC_BENCH" --version | grep -Eq '^pointclear-bench [0-9]+\.[0-9]+\.[0-9]+$' || fail "pointclear-bench --version"
"$PC_POINTCLEAR" --version | grep -Eq '^pointclear [0-9]+\.[0-9]+\.[0-9]+$' || fail "pointclear --version"
"$PC_POINTCLEARD" --version | grep -Eq '^pointcleard [0-9]+\.[0-9]+\.[0-9]+$' || fail "pointcleard --version"

grep -Eq '^limit: Ed25519 verify on one core = [1-9][0-9]*/s' "$work/report" || fail "no verification limit"
grep -Eq '^result: [1-9][0-9]* events/s over' "$work/report" || fail "no closed-loop result"
grep -Eq '^naive baseline \(1 transaction per event, 4 sessions\): [1-9][0-9]* events/s' "$work/report" \
	|| fail "no naive baseline"
# the baseline's sessions committed every transaction they ran (its tables held
# them all, or the bench would have failed) and no event id was claimed twice
grep -Eq '^    transactions: approved [1-9][0-9]*, declined [0-9]+, replayed 0 in the window; failed 0 in the whole phase$' "$work/report" \
	|| fail "the naive baseline's transactions"
grep -Eq '^ratios: .*; [0-9.]+x the naive baseline' "$work/report" || fail "no ratio against the naive baseline"
[ "$(psql -X "$base dbname=$db" -qAtc "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'pcbench_naive_%'")" -eq 0 ] \
	|| fail "the naive baseline left its tables"
grep -Eq '^idle: 20 of 20 connections open and authenticated' "$work/report" || fail "idle connections"
# one WAL line per phase that writes: the closed loop and the naive baseline
[ "$(grep -Ec '^    WAL: [1-9][0-9]* bytes per recorded event' "$work/report")" -eq 2 ] \
	|| fail "WAL per event missing"
grep -Eq '^ratios: [0-9.]+ of one-core verification' "$work/report" || fail "no ratios"
[ "$(wc -l <"$work/sweep.csv")" -eq 2 ] || fail "sweep CSV: header and one rate expected"
grep -q '^50,' "$work/sweep.csv" || fail "sweep CSV: no row for 50/s"
# the disk's flushes were probed over the step: a flush takes some time
awk -F, 'NR == 2 && NF == 9 && $8 > 0 { ok = 1 } END { exit !ok }' "$work/sweep.csv" \
	|| fail "sweep CSV: no flush probe figures"
# the daemon's writer backend was found (by the application name the daemon
# gives it) and watched over the step and over the closed loop; the naive
# baseline's sessions' backends likewise
awk -F, 'NR == 2 && $9 ~ /^[0-9]+\.[0-9][0-9]$/ { ok = 1 } END { exit !ok }' "$work/sweep.csv" \
	|| fail "sweep CSV: no figure for the writer's backend"
[ "$(grep -Ec "^    the daemon's writer backend in PostgreSQL: [0-9.]+ cores" "$work/report")" -eq 1 ] \
	|| fail "no CPU figure for the writer's backend in the closed loop"
grep -Eq "^    the sessions' 4 backends in PostgreSQL: [0-9.]+ cores" "$work/report" \
	|| fail "no CPU figure for the naive baseline's backends"
grep -Eq '^sweep: the closed loop.s rows vacuumed first \(VACUUM ANALYZE: [0-9.]+ s\)$' "$work/report" \
	|| fail "the sweep did not start from a vacuumed database"
grep -Eq '^sweep: the page cache flushed first \(sync: [0-9.]+ s\)$' "$work/report" \
	|| fail "the sweep did not start from a flushed page cache"
# the daemon's own account of the step, from the stats line SIGUSR1 asks for
grep -Eq '^        in the daemon, ms p50/p99: verify [0-9.]+/[0-9.]+, wait for the batch in flight [0-9.]+/[0-9.]+, own batch [0-9.]+/[0-9.]+, all [0-9.]+/[0-9.]+; [0-9.]+ events per batch$' "$work/report" \
	|| fail "no daemon account of the sweep step"

# Every answer of every phase decided: the bench signed what the daemon accepts.
if grep -E '^    answers:' "$work/report" | grep -Ev 'rejected 0, retryable 0$' >/dev/null; then
	fail "answers rejected or retryable"
fi
# The timed windows' answers were recorded in the ledger (warm-ups add more).
reported=$(awk '$1 == "answers:" && $2 == "recorded" { n += $3 } END { print n + 0 }' "$work/report")
in_ledger=$(psql -X "$base dbname=$db" -qAtc "SELECT count(*) FROM ledger WHERE alliance_id LIKE 'bench-%'")
[ "$reported" -gt 0 ] && [ "$in_ledger" -ge "$reported" ] \
	|| fail "ledger holds $in_ledger entries, the report says $reported were recorded"
echo "bench_smoke: ok ($reported answers recorded in the timed windows, $in_ledger ledger entries)"
