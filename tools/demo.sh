#!/usr/bin/env bash
# demo.sh - pointclear from nothing: build, a throwaway PostgreSQL, an alliance of
# four merchants from four industries, 300 members, the daemon, a simulated day
# of events over mutual TLS, and what came of it.
#
# For a fresh Debian 12 machine, as root: installs the packages it misses (and
# nothing when all are there), builds a Release tree in build-release/, and
# cleans up after itself (daemon, PostgreSQL, temp files) however it ends.
#   PC_DEMO_EVENTS=N   events to simulate (default 3000)
#   PC_DEMO_SEED=S     simulation seed (default 42)
#   PC_DEMO_KEEP=1     keep the temp directory (logs, keys, events) for a look
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

events=${PC_DEMO_EVENTS:-3000}
seed=${PC_DEMO_SEED:-42}
members=300
alliance=demo
merchants=(cafe gym bookshop airline)

say() { printf '\n== %s\n' "$*"; }

# ---------------------------------------------------------------- packages
# Keep in step with .ci/run.
packages=(build-essential cmake pkg-config libevent-dev libssl-dev libsodium-dev
	libprotobuf-c-dev protobuf-c-compiler libcmocka-dev libjson-c-dev libpq-dev
	postgresql-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
	python3 python3-cryptography golang-go golang-golang-x-mod-dev)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "demo.sh: missing packages; run as root, or: apt-get install ${missing[*]}" >&2
		exit 1
	fi
	# No package may start a PostgreSQL service: the demo runs its own cluster.
	guard=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		guard=/usr/sbin/policy-rc.d
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get update -q && apt-get install -y -q --no-install-recommends \
		"${missing[@]}" </dev/null; }; then
		if [ -n "$guard" ]; then rm -f "$guard"; fi
		echo "demo.sh: installing packages failed" >&2
		exit 1
	fi
	if [ -n "$guard" ]; then rm -f "$guard"; fi
fi

# ---------------------------------------------------------------- build
say "building (Release) in build-release/"
cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-release" -j"$(nproc)" --target pointclear pointcleard
pc_bin=$(find "$root/build-release" -type f -name pointclear -perm -u+x | head -n1)
pcd_bin=$(find "$root/build-release" -type f -name pointcleard -perm -u+x | head -n1)
if [ -z "$pc_bin" ] || [ -z "$pcd_bin" ]; then
	echo "demo.sh: the build made no pointclear/pointcleard binary" >&2
	exit 1
fi

# ---------------------------------------------------------------- clean-up
work=$(mktemp -d /tmp/pointclear-demo.XXXXXX)
chmod 0755 "$work"
daemon_pid=""
cleanup() {
	local rc=$?
	set +e
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		for _ in $(seq 1 100); do
			kill -0 "$daemon_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	bash "$root/tests/integration/pg.sh" stop "$work/pg" >/dev/null 2>&1
	if [ $rc -ne 0 ] && [ -f "$work/pointcleard.log" ]; then
		echo "---- last lines of the daemon's log ----" >&2
		tail -n 30 "$work/pointcleard.log" >&2
	fi
	if [ -n "${PC_DEMO_KEEP:-}" ]; then
		echo "demo files kept in $work"
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- database
say "starting a throwaway PostgreSQL in $work/pg"
base=$(bash "$root/tests/integration/pg.sh" start "$work/pg")
psql "$base dbname=postgres" -qAt -c "CREATE DATABASE pointclear" >/dev/null
db="$base dbname=pointclear"
home="$work/home"     # the daemon's: its own keys only (docs/KEYS.md)
admin="$work/admin"   # the CA keys, and the merchants' keys made for the demo
pc() { "$pc_bin" --db "$db" --home "$home" --admin-home "$admin" "$@"; }

# The CLI is the schema's owner (the throwaway cluster's superuser here); the
# daemon connects as a role of its own that can only read keys and record.
say "pointclear migrate, the daemon's role, init"
pc migrate
pc admin daemon-role pointcleard
pc init >/dev/null

say "alliance '$alliance': ${merchants[*]}, $members members"
pc alliance create "$alliance" --name "Demo Alliance" --currency EUR
pc merchant add "$alliance" cafe --name "Corner Cafe" --industry cafe \
	--issue-price 10/1 --redeem-rate 8/1 >/dev/null
pc merchant add "$alliance" gym --name "Iron Gym" --industry gym \
	--issue-price 12/1 --redeem-rate 9/1 >/dev/null
pc merchant add "$alliance" bookshop --name "Paper Tiger Books" --industry bookshop \
	--issue-price 10/1 --redeem-rate 8/1 >/dev/null
pc merchant add "$alliance" airline --name "Blue Sky Air" --industry airline \
	--issue-price 15/1 --redeem-rate 11/1 >/dev/null
# random pseudonymous ids, listed for the simulator
pc member add "$alliance" --count "$members" --out "$work/members.txt"

# ---------------------------------------------------------------- daemon
port=""
for _ in $(seq 1 50); do
	candidate=$((20000 + RANDOM % 40000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
		port=$candidate
		break
	fi
done
[ -n "$port" ] || { echo "demo.sh: no free port found" >&2; exit 1; }

say "starting pointcleard on 127.0.0.1:$port"
"$pcd_bin" --db "$db user=pointcleard" --home "$home" --listen "127.0.0.1:$port" \
	>"$work/pointcleard.log" 2>&1 </dev/null &
daemon_pid=$!
for _ in $(seq 1 300); do
	grep -q "listening on" "$work/pointcleard.log" && break
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		echo "demo.sh: pointcleard exited during start-up" >&2
		exit 1
	fi
	sleep 0.1
done
grep -q "listening on" "$work/pointcleard.log" || {
	echo "demo.sh: pointcleard did not start listening within 30 s" >&2
	exit 1
}
grep "listening on" "$work/pointcleard.log"

# ---------------------------------------------------------------- events
say "simulating $events events (seed $seed) and submitting them over mTLS"
merchant_list=$(IFS=,; echo "${merchants[*]}")
pc simulate "$alliance" --merchants "$merchant_list" --members-file "$work/members.txt" \
	--events "$events" --seed "$seed" >"$work/events.jsonl"
start=$(date +%s.%N)
set +e
pc submit --server "127.0.0.1:$port" "$alliance" "$work/events.jsonl" >"$work/results.txt"
submit_rc=$?
set -e
end=$(date +%s.%N)
answered=$(wc -l <"$work/results.txt")
echo "submitted $(wc -l <"$work/events.jsonl") events, $answered answers," \
	"$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"
if [ "$submit_rc" -ne 0 ]; then
	echo "demo.sh: pointclear submit exited $submit_rc (not every event was answered)" >&2
	tail -n 5 "$work/results.txt" >&2 || true
	exit 1
fi

say "decisions per kind"
# events.jsonl gives each (merchant, event id) its kind; results.txt lines are
# <merchant> <event_id> <disposition> <status|-> <code> seq=.. balance=.. ...
awk '
	FNR == NR {
		m = $0; sub(/.*"merchant":"/, "", m); sub(/".*/, "", m)
		e = $0; sub(/.*"event_id":"/, "", e); sub(/".*/, "", e)
		k = $0; sub(/.*"kind":"/, "", k); sub(/".*/, "", k)
		kind[m " " e] = k
		next
	}
	{
		k = kind[$1 " " $2]; if (k == "") k = "?"
		kinds[k] = 1
		d = toupper($3); s = toupper($4)
		if (d == "RECORDED" || d == "REPLAYED") {
			if (s == "APPROVED") ok[k]++
			else { no[k]++; codes[k " " $5]++ }
		} else {
			other[k]++; codes[k " " $5]++
		}
		total++
	}
	END {
		printf "%-10s %9s %9s %9s\n", "kind", "approved", "declined", "rejected"
		n = split("earn redeem hold capture void reversal referral purchase ?", order, " ")
		for (i = 1; i <= n; i++) {
			k = order[i]
			if (!(k in kinds)) continue
			printf "%-10s %9d %9d %9d\n", k, ok[k], no[k], other[k]
			ta += ok[k]; td += no[k]; tr += other[k]
		}
		printf "%-10s %9d %9d %9d\n", "total", ta, td, tr
		printf "\nnot approved, by kind and code:\n"
		for (c in codes) printf "  %-40s %6d\n", c, codes[c] | "sort"
		close("sort")
	}' "$work/events.jsonl" "$work/results.txt"

say "pointclear balance $alliance --sample 10"
pc balance "$alliance" --sample 10

say "pointclear check $alliance"
pc check "$alliance"

say "stopping"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || { echo "demo.sh: pointcleard did not stop cleanly" >&2; exit 1; }
daemon_pid=""
echo "demo finished"
