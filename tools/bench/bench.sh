#!/usr/bin/env bash
# bench.sh - the reproducible end-to-end benchmark of pointcleard.
#
#   tools/bench/bench.sh [BUILD_DIR]
#
# Starts a throwaway PostgreSQL (tests/integration/pg.sh; fsync and
# synchronous_commit stay at their defaults: on), creates a database, runs
# `pointclear migrate` and `init` into a temporary home, then pointclear-bench
# with everything the report needs: the closed-loop maximum, the Ed25519 and naive
# baseline limits, 1000 idle connections, and an open-loop sweep of offered loads
# written as CSV; then draws the sweep with gnuplot (tools/bench/bench_plot.gp). It
# builds nothing: BUILD_DIR (default build-release/, else build/) must hold
# tools/pointclear, tools/pointclear-bench and daemon/pointcleard, e.g. from
#   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release && cmake --build build-release -j2
#
# Results go to $BENCH_OUT (default docs/perf/): bench-report.txt (the command
# and everything it printed), bench-sweep.csv, bench-sweep.png.
# Durations and sizes may be changed through the environment (defaults: the
# issue's targets): BENCH_DURATION=60 BENCH_WARMUP=5 BENCH_SWEEP_DURATION=10
# BENCH_BASELINE_DURATION=10 BENCH_IDLE=1000 BENCH_MEMBERS=100000
# BENCH_MERCHANTS=40 BENCH_CONNECTIONS=64 BENCH_PIPELINE=64 BENCH_RATES=auto;
# BENCH_EXTRA adds arguments to pointclear-bench (e.g. "--workers 2").
# The cluster gets the settings a write-heavy ledger database is run with
# (BENCH_PG_SETTINGS, default below; durability untouched: fsync and
# synchronous_commit stay on); BENCH_PG_SETTINGS="" runs PostgreSQL's defaults.
# Its WAL segments are made ready for reuse first, as on a server that has run
# through checkpoints (min_wal_size of them: 4 GiB of disk at the default).
# BENCH_DIRTY_EXPIRE_CS=100 (root only) runs it with the kernel writing dirty
# pages back after 1 s instead of 30 (vm.dirty_expire_centisecs), and restores
# the setting on exit: on a disk without a non-volatile cache, a commit's flush
# waits behind that writeback, and smaller bursts keep it short
# (docs/PERFORMANCE.md, "Writeback stalls the commit's flush").
# BENCH_DIRTY_WRITEBACK_CS=100 (root only) likewise wakes the kernel's flusher
# every second instead of every 5 s (vm.dirty_writeback_centisecs), so that an
# expiry under 500 makes smaller bursts, not the same bursts sooner.
# Everything it started is stopped on exit, ^C included.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)

build=${1:-${BENCH_BUILD:-}}
if [ -z "$build" ]; then
	for d in "$root/build-release" "$root/build"; do
		if [ -x "$d/tools/pointclear" ] && [ -x "$d/tools/pointclear-bench" ] &&
		   [ -x "$d/daemon/pointcleard" ]; then
			build=$d
			break
		fi
	done
fi
if [ -z "$build" ] || [ ! -x "$build/tools/pointclear" ] || [ ! -x "$build/tools/pointclear-bench" ] ||
   [ ! -x "$build/daemon/pointcleard" ]; then
	echo "bench.sh: no build with tools/pointclear, tools/pointclear-bench and daemon/pointcleard (${build:-build-release/ or build/})" >&2
	echo "bench.sh: build one first: cmake -S $root -B $root/build-release -DCMAKE_BUILD_TYPE=Release && cmake --build $root/build-release -j2" >&2
	exit 1
fi
build=$(cd "$build" && pwd)
if ! command -v gnuplot >/dev/null; then
	echo "bench.sh: gnuplot is needed for the figure: apt-get install gnuplot-nox" >&2
	exit 1
fi
if ! command -v psql >/dev/null; then
	echo "bench.sh: psql is needed: apt-get install postgresql-client-15" >&2
	exit 1
fi

out=${BENCH_OUT:-$root/docs/perf}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/pcbench-run.XXXXXX)
pg=$root/tests/integration/pg.sh

bench_pid=""
dirty_expire_was=""
dirty_writeback_was=""
cleanup() {
	status=$?
	trap - EXIT INT TERM
	if [ -n "$dirty_expire_was" ]; then
		echo "$dirty_expire_was" >/proc/sys/vm/dirty_expire_centisecs || true
	fi
	if [ -n "$dirty_writeback_was" ]; then
		echo "$dirty_writeback_was" >/proc/sys/vm/dirty_writeback_centisecs || true
	fi
	if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
		# its daemon gets SIGTERM when it dies (PR_SET_PDEATHSIG)
		kill -TERM "$bench_pid" 2>/dev/null || true
		wait "$bench_pid" 2>/dev/null || true
	fi
	bash "$pg" stop "$work/pg" >/dev/null 2>&1 || true
	rm -rf "$work"
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# set_vm NAME VARIABLE VALUE: vm.NAME := VALUE, echoing the value it had
set_vm() {
	if ! [[ "$3" =~ ^[0-9]+$ ]] || [ "$3" -lt 100 ]; then
		echo "bench.sh: $2 is centiseconds, at least 100" >&2
		return 1
	fi
	local was
	was=$(cat "/proc/sys/vm/$1")
	if ! echo "$3" 2>/dev/null >"/proc/sys/vm/$1"; then
		echo "bench.sh: cannot set vm.$1 ($2 needs root)" >&2
		return 1
	fi
	echo "$was"
}
if [ -n "${BENCH_DIRTY_EXPIRE_CS:-}" ]; then
	dirty_expire_was=$(set_vm dirty_expire_centisecs BENCH_DIRTY_EXPIRE_CS "$BENCH_DIRTY_EXPIRE_CS")
fi
if [ -n "${BENCH_DIRTY_WRITEBACK_CS:-}" ]; then
	dirty_writeback_was=$(set_vm dirty_writeback_centisecs BENCH_DIRTY_WRITEBACK_CS "$BENCH_DIRTY_WRITEBACK_CS")
fi
pg_settings=${BENCH_PG_SETTINGS-shared_buffers = 4GB; min_wal_size = 4GB; max_wal_size = 16GB; checkpoint_timeout = 30min; wal_compression = lz4; wal_buffers = 64MB}
conninfo=$(PC_PG_SETTINGS="$pg_settings" bash "$pg" start "$work/pg")
psql -X -q "$conninfo dbname=postgres" -c "CREATE DATABASE pcbench"

# A new cluster has no WAL segments to reuse: it creates each 16 MiB segment when
# it first needs it, fills it with zeros and syncs it, and every commit waits
# meanwhile (a 16 MiB write and fdatasync takes 40-80 ms on this project's
# machines). A server that has been running reuses the segments its checkpoints
# free, up to min_wal_size of them. So the bench starts from that state: it
# switches through min_wal_size worth of segments and checkpoints, which leaves
# them ready for reuse (about 16 s and 4 GiB of disk at the default settings).
wal_segments=$(psql -X -At "$conninfo dbname=postgres" -c \
	"SELECT pg_size_bytes(current_setting('min_wal_size')) / pg_size_bytes(current_setting('wal_segment_size'))")
psql -X -q -v ON_ERROR_STOP=1 "$conninfo dbname=postgres" \
	-c "CREATE TABLE wal_fill (i integer)" \
	-c "DO \$\$ BEGIN FOR i IN 1..$wal_segments LOOP INSERT INTO wal_fill VALUES (i); PERFORM pg_switch_wal(); END LOOP; END \$\$" \
	-c "DROP TABLE wal_fill" -c "CHECKPOINT"
wal_ready=$(psql -X -At "$conninfo dbname=postgres" -c "SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'")
db="$conninfo dbname=pcbench"
pointclear=$build/tools/pointclear
bench=$build/tools/pointclear-bench
"$pointclear" --db "$db" --home "$work/home" migrate >/dev/null
"$pointclear" --db "$db" --home "$work/home" init >/dev/null
# The daemon connects as its own least-privilege role, as in production.
"$pointclear" --db "$db" admin daemon-role pcbench_daemon >/dev/null

args=(
	--daemon "$build/daemon/pointcleard"
	--daemon-db "$db user=pcbench_daemon"
	--merchants "${BENCH_MERCHANTS:-40}"
	--members "${BENCH_MEMBERS:-100000}"
	--connections "${BENCH_CONNECTIONS:-64}"
	--pipeline "${BENCH_PIPELINE:-64}"
	--duration "${BENCH_DURATION:-60}"
	--warmup "${BENCH_WARMUP:-5}"
	--baseline-duration "${BENCH_BASELINE_DURATION:-10}"
	--idle "${BENCH_IDLE:-1000}"
	--rates "${BENCH_RATES:-auto}"
	--sweep-duration "${BENCH_SWEEP_DURATION:-10}"
	--csv "$out/bench-sweep.csv"
	--log-dir "$work/logs"
)
# shellcheck disable=SC2206
extra=(${BENCH_EXTRA:-})

{
	echo "# pointclear-bench report, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# machine: $(nproc) cores, $(uname -srm); $(psql -X -At "$db" -c 'SHOW server_version') PostgreSQL (fsync $(psql -X -At "$db" -c 'SHOW fsync'), synchronous_commit $(psql -X -At "$db" -c 'SHOW synchronous_commit'))"
	echo "# PostgreSQL settings: ${pg_settings:-defaults}; $wal_ready WAL segments ready for reuse"
	echo "# kernel: vm.dirty_expire_centisecs = $(cat /proc/sys/vm/dirty_expire_centisecs)$([ -n "$dirty_expire_was" ] && echo " for this run (was $dirty_expire_was)"), vm.dirty_writeback_centisecs = $(cat /proc/sys/vm/dirty_writeback_centisecs)$([ -n "$dirty_writeback_was" ] && echo " for this run (was $dirty_writeback_was)")"
	echo "# commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet -- . ':!docs/perf' 2>/dev/null || echo ' (with local changes)')"
	echo "# command: pointclear-bench --db '<throwaway cluster>' --home '<temp home>' ${args[*]} ${extra[*]:-}"
	echo "#   (as run by: tools/bench/bench.sh; environment: $(env | grep '^BENCH_' | tr '\n' ' ' || true))"
} >"$out/bench-report.txt"

# in the background, so that a signal to this script is handled at once (bash
# runs traps only between foreground commands)
"$bench" --db "$db" --home "$work/home" "${args[@]}" "${extra[@]}" \
	> >(tee -a "$out/bench-report.txt") 2> >(tee -a "$work/progress.log" >&2) &
bench_pid=$!
status=0
wait "$bench_pid" || status=$?
bench_pid=""
wait   # for the tee processes to write the last lines
if [ "$status" -ne 0 ]; then
	echo "bench.sh: pointclear-bench failed (exit $status); daemon logs:" >&2
	tail -n 20 "$work"/logs/*.log >&2 || true
	exit "$status"
fi

# the closed-loop maximum, marked on the figure with half of it
maxrate=$(awk '$1 == "result:" { print $2; exit }' "$out/bench-report.txt")
subtitle="$(nproc) cores; ${BENCH_SWEEP_DURATION:-10} s per offered rate; $(date -u +%Y-%m-%d)"
gnuplot -e "csv='$out/bench-sweep.csv'; png='$out/bench-sweep.png'; subtitle='$subtitle'; maxrate=${maxrate:-0}" \
	"$root/tools/bench/bench_plot.gp"
echo "bench.sh: report $out/bench-report.txt, sweep $out/bench-sweep.csv, figure $out/bench-sweep.png"
