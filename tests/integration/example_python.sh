#!/usr/bin/env bash
# example_python.sh - the integrators' worked example, docs/examples/pos_client.py,
# run against a real daemon on the shared test cluster: a migrated database, an
# alliance, a merchant with its keys and client certificate, a member, and
# pointcleard with real certificates on a free loopback port. It asserts what
# the example promises: the EARN and the REDEEM are recorded and approved with
# the balances they imply, every receipt checks (the operator's signature over
# its tree head, the inclusion path, the leaf hash of the bytes sent), the
# resent bytes are answered REPLAYED with the first receipt byte for byte, and
# the ledger holds exactly two entries for the merchant. Before the daemon, the
# example's receipt checks run on proto/testvectors/signing.json.
#   PC_PG_DIR      the cluster made by tests/integration/pg.sh (holds conninfo)
#   PC_POINTCLEAR  the pointclear binary
#   PC_POINTCLEARD the daemon
#   PC_ITEST_KEEP  keep the temp directory (daemon log, keys, spool)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/daemon.sh"
example=$here/../../docs/examples/pos_client.py
# Debian's interpreter, where python3-cryptography lives, before any other.
python=/usr/bin/python3
[ -x "$python" ] || python=python3

base=$(cat "$PC_PG_DIR/conninfo")
db="t_example_python_$$"
work=$(mktemp -d /tmp/pcexample-py.XXXXXX)
daemon_pid=""
cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" 2>/dev/null || true
	fi
	psql -X "$base dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	psql -X "$base dbname=postgres" -qAtc "DROP ROLE IF EXISTS ${db}_d" >/dev/null 2>&1 || true
	if [ -n "${PC_ITEST_KEEP:-}" ]; then
		echo "example_python: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
fail() {
	echo "example_python: $*" >&2
	echo "--- example's output:" >&2; cat "$work/out" >&2 2>/dev/null || true
	echo "--- daemon log:" >&2; tail -n 40 "$work/daemon.log" >&2 2>/dev/null || true
	exit 1
}

"$python" -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' \
	|| fail "$python has no cryptography module (Debian: python3-cryptography)"

# The example's receipt checks on the protocol's vectors first: trees of 1, 3 and
# 7 receipts (inclusion paths of every shape) pass, each refused receipt fails.
"$python" "$example" --check-vectors "$here/../../proto/testvectors/signing.json" >"$work/out" 2>&1 \
	|| fail "pos_client.py --check-vectors exited $?"
grep -Eqx 'vectors ok: [1-9][0-9]* receipts checked, [1-9][0-9]* refused' "$work/out" \
	|| fail "the receipt vectors were not all checked"

psql -X "$base dbname=postgres" -qAtc "CREATE DATABASE $db"
conninfo="$base dbname=$db"
pc=("$PC_POINTCLEAR" --db "$conninfo" --home "$work/home")
"${pc[@]}" migrate >/dev/null
"${pc[@]}" init >/dev/null
# the daemon connects as its own least-privilege role, as in production
"${pc[@]}" admin daemon-role "${db}_d" >/dev/null
"${pc[@]}" alliance create pyal --name "Python Alliance" >/dev/null
"${pc[@]}" merchant add pyal kiosk --name "Kiosk" --industry cafe \
	--issue-price 10/1 --redeem-rate 8/1 >/dev/null
"${pc[@]}" member add pyal m-py-1 >/dev/null

daemon_db="$conninfo user=${db}_d"
start_daemon "$daemon_db" "$work/home" || start_daemon "$daemon_db" "$work/home" \
	|| fail "pointcleard exited during start-up"

"$python" "$example" --home "$work/home" --alliance pyal --merchant kiosk \
	--member m-py-1 --server "127.0.0.1:$port" --prefix ex1 --spool "$work/spool" \
	>"$work/out" 2>&1 || fail "pos_client.py exited $?"

grep -qx 'earn ex1-earn RECORDED APPROVED seq=0 balance=120 available=120' "$work/out" \
	|| fail "the EARN was not recorded and approved with balance 120"
grep -qx 'redeem ex1-redeem RECORDED APPROVED seq=1 balance=70 available=70' "$work/out" \
	|| fail "the REDEEM was not recorded and approved with balance 70"
[ "$(grep -c '^receipt ok: tree of [1-9][0-9]* from seq [0-9]* signed by the operator, inclusion path of [0-9]* hashes, leaf hash of the bytes sent$' "$work/out")" -eq 2 ] \
	|| fail "not every receipt checked"
grep -qx 'resent earn: REPLAYED, receipt identical byte for byte' "$work/out" \
	|| fail "the resent bytes were not replayed with the original receipt"
[ -s "$work/spool/ex1-earn.submit" ] && [ -s "$work/spool/ex1-redeem.submit" ] \
	|| fail "the exact bytes were not spooled before sending"

# The ledger: two entries, no second effect of the resend.
entries=$(psql -X "$conninfo" -qAtc \
	"SELECT count(*) FROM ledger WHERE alliance_id = 'pyal' AND merchant_id = 'kiosk'")
[ "$entries" -eq 2 ] || fail "the ledger holds $entries entries for the merchant, not 2"
echo "example_python: ok"
