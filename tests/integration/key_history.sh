#!/usr/bin/env bash
# key_history.sh - the signed key history (PROTOCOL.md, "Key history") against
# the real CLI on the shared test cluster:
#  - alliance create, merchant add (quick path and --public-key), rotate-key,
#    revoke-key and init --force each append operator-signed statements in the
#    transaction of the change, and `keys history --verify` passes;
#  - a rogue owner who swaps a merchant key in a statement (triggers off, as
#    session_replication_role = replica allows), drops a statement, or updates
#    merchant_keys behind the history's back is caught, the statement named;
#  - the table is append-only for the owner, and the daemon's role can neither
#    read nor write it.
#   PC_PG_DIR      the cluster made by tests/integration/pg.sh (holds conninfo)
#   PC_POINTCLEAR  the pointclear binary
#   PC_ITEST_KEEP  keep the temp directory
set -euo pipefail

base=$(cat "$PC_PG_DIR/conninfo")
db="t_key_history_$$"
work=$(mktemp -d /tmp/pckeyhist.XXXXXX)
cleanup() {
	psql -X "$base dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	psql -X "$base dbname=postgres" -qAtc "DROP ROLE IF EXISTS ${db}_d" >/dev/null 2>&1 || true
	if [ -n "${PC_ITEST_KEEP:-}" ]; then
		echo "key_history: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
fail() {
	echo "key_history: $*" >&2
	echo "--- last output:" >&2; cat "$work/out" "$work/err" >&2 2>/dev/null || true
	exit 1
}

psql -X "$base dbname=postgres" -qAtc "CREATE DATABASE $db"
conninfo="$base dbname=$db"
home=$work/home
pc=("$PC_POINTCLEAR" --db "$conninfo" --home "$home" --admin-home "$work/admin")
sql() { psql -X "$conninfo" -v ON_ERROR_STOP=1 -qAt "$@"; }

verify_ok() {
	"${pc[@]}" keys history "$1" --verify >"$work/out" 2>"$work/err" \
		|| fail "keys history $1 --verify failed"
	grep -q "all verified" "$work/out" || fail "no summary from --verify"
}
# --verify exits 1 and names the problem
verify_fails() {
	local alliance=$1 want=$2
	if "${pc[@]}" keys history "$alliance" --verify >"$work/out" 2>"$work/err"; then
		fail "--verify passed a tampered history ($want)"
	fi
	grep -qF -- "$want" "$work/out" || fail "--verify did not say '$want'"
}

"${pc[@]}" migrate >/dev/null
"${pc[@]}" admin daemon-role "${db}_d" >/dev/null
"${pc[@]}" init >/dev/null
"${pc[@]}" alliance create al --name "History Alliance" >/dev/null
[ "$(sql -c "SELECT count(*) FROM key_history WHERE alliance_id = 'al'")" = 1 ] \
	|| fail "alliance create did not write statement 0"
sql -c "SELECT note FROM key_history WHERE alliance_id = 'al' AND seq = 0" | grep -qx 'change operator-key' \
	|| fail "statement 0 does not name the operator key"
verify_ok al

# ---- every key change appends its statement
k1=$("${pc[@]}" merchant add al cafe --name Cafe --industry cafe)
"${pc[@]}" merchant keygen al kiosk "$work/kiosk" >/dev/null
k2=$("${pc[@]}" merchant add al kiosk --name Kiosk --industry retail \
	--public-key "$work/kiosk/sign.pub" --csr "$work/kiosk/client.csr")
k3=$("${pc[@]}" merchant rotate-key al cafe --grace 60)
"${pc[@]}" merchant revoke-key al kiosk "$k2" >/dev/null
"${pc[@]}" merchant revoke-key al cafe "$k1" >/dev/null   # revoked inside its grace
verify_ok al
grep -q "7 statements, 3 merchant keys" "$work/out" || fail "expected 7 statements, 3 keys"
"${pc[@]}" keys history al >"$work/hist" || fail "keys history failed"
for want in "change register" "change retire" "change revoke" "key-id $k1" "key-id $k2" "key-id $k3"; do
	grep -qx -- "$want" "$work/hist" || fail "no '$want' line in the history"
done
grep -q "^— pointclear/al/keys " "$work/hist" || fail "statements not signed as pointclear/al/keys"

# a refused change adds no statement
n=$(sql -c "SELECT count(*) FROM key_history")
if "${pc[@]}" merchant rotate-key al nobody >/dev/null 2>&1; then fail "rotated a missing merchant"; fi
[ "$(sql -c "SELECT count(*) FROM key_history")" = "$n" ] || fail "a refused rotation wrote a statement"

# a merchant key change without the operator key is refused and changes nothing
mv "$home/operator/receipt.key" "$work/receipt.key"
if "${pc[@]}" merchant rotate-key al cafe --out "$work/x" >"$work/out" 2>"$work/err"; then
	fail "rotated a key with no operator key to sign its statement"
fi
grep -q "no operator key" "$work/err" || fail "no 'no operator key' message"
mv "$work/receipt.key" "$home/operator/receipt.key"
[ "$(sql -c "SELECT count(*) FROM merchant_keys")" = 3 ] || fail "the refused rotation added a key"

# ---- the operator key changes: new statements, the old ones checked with --operator-pub
cp "$home/operator/receipt.pub" "$work/old.pub"
"${pc[@]}" init --force >/dev/null
[ "$(sql -c "SELECT count(*) FROM key_history WHERE alliance_id = 'al'")" = 8 ] \
	|| fail "init --force did not record the new operator key"
"${pc[@]}" merchant add al bakery --name Bakery --industry food >/dev/null
verify_fails al "statement 0: signature: no signature of a known key"
"${pc[@]}" keys history al --verify --operator-pub "$work/old.pub" >"$work/out" 2>"$work/err" \
	|| fail "--verify with the old operator key failed"

# ---- the table is append-only, even to the owner
for stmt in "UPDATE key_history SET note = note" "DELETE FROM key_history" "TRUNCATE key_history"; do
	if sql -c "$stmt" >"$work/out" 2>"$work/err"; then fail "owner could: $stmt"; fi
	grep -q "append-only" "$work/err" || fail "$stmt: refused without the append-only message"
done

# ---- the daemon's role: no access at all
for stmt in "SELECT count(*) FROM key_history" \
	"INSERT INTO key_history (alliance_id, seq, note) VALUES ('al', 1000, 'x')"; do
	if psql -X "$conninfo user=${db}_d" -v ON_ERROR_STOP=1 -qAtc "$stmt" >"$work/out" 2>"$work/err"; then
		fail "the daemon's role could: $stmt"
	fi
	grep -q "permission denied" "$work/err" || fail "$stmt: not 'permission denied'"
done

# ---- a rogue DBA, triggers off: each tampering is named
cp "$work/old.pub" "$work/keep.pub"
tamper() {   # SQL run as the owner with the triggers off
	sql -c "SET session_replication_role = replica; $1"
}
other=$(sodium_pk=$(sql -c "SELECT encode(public_key, 'base64') FROM merchant_keys WHERE key_id = '$k3'"); echo "$sodium_pk")
orig=$(sql -c "SELECT encode(public_key, 'base64') FROM merchant_keys WHERE key_id = '$k1'")
seq1=$(sql -c "SELECT seq FROM key_history WHERE alliance_id = 'al' AND note LIKE '%change register%key-id $k1%' ")
tamper "UPDATE key_history SET note = replace(note, 'public-key $orig', 'public-key $other')
	WHERE alliance_id = 'al' AND seq = $seq1"
verify_fails al "statement $seq1: signature"
verify_fails al "statement $seq1: the key id is not the public key's"
tamper "UPDATE key_history SET note = replace(note, 'public-key $other', 'public-key $orig')
	WHERE alliance_id = 'al' AND seq = $seq1"
"${pc[@]}" keys history al --verify --operator-pub "$work/keep.pub" >/dev/null \
	|| fail "the history restored byte for byte does not verify"

# merchant_keys changed behind the history's back
tamper "UPDATE merchant_keys SET revoked_at = NULL WHERE key_id = '$k2'"
verify_fails al "key $k2: revoked_at differs from its statements"
tamper "UPDATE merchant_keys SET revoked_at = valid_from WHERE key_id = '$k2'"
verify_fails al "key $k2: revoked_at differs"

# a statement dropped: the gap is named
tamper "DELETE FROM key_history WHERE alliance_id = 'al' AND seq = 3"
verify_fails al "statement 3 is missing"
echo "key_history: ok"
