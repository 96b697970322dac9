#!/usr/bin/env bash
# key_custody.sh - who holds which key (docs/KEYS.md), against the real CLI, a
# real daemon and real mutual TLS on the shared test cluster:
#  - after init, alliance create and a quick-path merchant add, the daemon's
#    home holds exactly what pointcleard opens plus public material: no CA key,
#    no merchant key; every private key file anywhere is 0600 in a 0700
#    directory;
#  - a merchant makes its own keys (`merchant keygen`), the operator registers
#    only the public halves (`merchant add --public-key --csr`), and events
#    signed with the merchant's own key over its own TLS key are approved; a
#    later `rotate-key --public-key` likewise;
#  - a request naming another merchant or another alliance, or whose signature
#    does not verify, is refused with its own message and adds nothing; so are
#    a key already registered, half the merchant's keys, and key directories in
#    the daemon's home;
#  - `member add --count` makes random ids.
#   PC_PG_DIR      the cluster made by tests/integration/pg.sh (holds conninfo)
#   PC_POINTCLEAR  the pointclear binary
#   PC_POINTCLEARD the daemon
#   PC_ITEST_KEEP  keep the temp directory
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/daemon.sh"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

base=$(cat "$PC_PG_DIR/conninfo")
db="t_key_custody_$$"
work=$(mktemp -d /tmp/pccustody.XXXXXX)
daemon_pid=""
cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" 2>/dev/null || true
	fi
	psql -X "$base dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	psql -X "$base dbname=postgres" -qAtc "DROP ROLE IF EXISTS ${db}_d" >/dev/null 2>&1 || true
	if [ -n "${PC_ITEST_KEEP:-}" ]; then
		echo "key_custody: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
fail() {
	echo "key_custody: $*" >&2
	echo "--- last output:" >&2; cat "$work/out" "$work/err" >&2 2>/dev/null || true
	echo "--- daemon log:" >&2; tail -n 40 "$work/daemon.log" >&2 2>/dev/null || true
	exit 1
}

psql -X "$base dbname=postgres" -qAtc "CREATE DATABASE $db"
conninfo="$base dbname=$db"
daemon_db="$conninfo user=${db}_d"   # the daemon's own least-privilege role
home=$work/home
admin=$work/home-admin
pc=("$PC_POINTCLEAR" --db "$conninfo" --home "$home")

# Runs the CLI expecting failure (exit 1) with the given text on stderr.
refused() {
	local want=$1; shift
	if "${pc[@]}" "$@" >"$work/out" 2>"$work/err"; then
		fail "accepted: pointclear $*"
	fi
	grep -qF -- "$want" "$work/err" || fail "pointclear $*: no '$want' in the message"
}

"${pc[@]}" migrate >/dev/null
"${pc[@]}" admin daemon-role "${db}_d" >/dev/null
"${pc[@]}" init >/dev/null
"${pc[@]}" alliance create al --name "Custody Alliance" >/dev/null
"${pc[@]}" alliance create al2 --name "Other Alliance" >/dev/null
"${pc[@]}" merchant add al quick --name Quick --industry cafe \
	--issue-price 10/1 --redeem-rate 8/1 >/dev/null

# ---- the daemon's home: what pointcleard opens, and public material only
(cd "$home" && find . -type f | sort) >"$work/home.list"
printf '%s\n' ./operator/receipt.key ./operator/receipt.pub ./tls/ca.crt \
	./tls/server.crt ./tls/server.key >"$work/home.want"
diff -u "$work/home.want" "$work/home.list" >&2 \
	|| fail "the daemon's home holds more or other files than expected (above)"
[ -s "$admin/tls/ca.key" ] || fail "no operator TLS CA key in the admin home"
[ -s "$admin/alliances/al/ca.key" ] || fail "no alliance CA key in the admin home"
qdir=$admin/alliances/al/merchants/quick
for f in sign.key sign.pub client.key client.crt; do
	[ -s "$qdir/$f" ] || fail "quick path: no $qdir/$f"
done

# ---- custody refused where it would put keys in the daemon's home
refused "inside it" --admin-home "$home" alliance create al3 --name X
refused "inside it" --admin-home "$home/admin" init --force
refused "inside it" merchant add al q2 --name Q2 --industry cafe --out "$home/q2"
refused "inside it" merchant keygen al q3 "$home/q3"
[ ! -e "$home/q2" ] && [ ! -e "$home/q3" ] || fail "a refused command left a directory"

# ---- the merchant's side: its own keys, only public halves sent
mine=$work/kiosk
"${pc[@]}" merchant keygen al kiosk "$mine" >"$work/out" || fail "keygen failed"
kid=$(cat "$work/out")
[[ $kid =~ ^[0-9a-f]{16}$ ]] || fail "keygen printed '$kid', not a key id"
for f in sign.key sign.pub client.key client.csr; do
	[ -s "$mine/$f" ] || fail "keygen: no $f"
done
openssl req -in "$mine/client.csr" -noout -verify 2>&1 | grep -q 'verify OK' \
	|| fail "keygen's request does not verify with openssl"
openssl req -in "$mine/client.csr" -noout -subject -nameopt RFC2253 | grep -qx 'subject=CN=kiosk,O=al' \
	|| fail "keygen's request subject is not O=al, CN=kiosk"
refused "exists" merchant keygen al kiosk "$mine"

# requests naming another merchant, another alliance; a bad signature
"${pc[@]}" merchant keygen al other "$work/other" >/dev/null
"${pc[@]}" merchant keygen al2 kiosk "$work/kiosk-al2" >/dev/null
add_kiosk=(merchant add al kiosk --name Kiosk --industry cafe --issue-price 10/1
	--redeem-rate 8/1 --public-key "$mine/sign.pub" --out "$mine")
refused "names merchant CN=other, not kiosk" "${add_kiosk[@]}" --csr "$work/other/client.csr"
refused "names alliance O=al2, not al" "${add_kiosk[@]}" --csr "$work/kiosk-al2/client.csr"
openssl req -in "$mine/client.csr" -outform DER -out "$work/csr.der"
"$python" - "$work/csr.der" "$work/bad.der" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-1] ^= 0x01   # the last byte of the signature value
open(sys.argv[2], "wb").write(bytes(b))
PY
openssl req -inform DER -in "$work/bad.der" -out "$work/bad.csr" 2>/dev/null
refused "signature does not verify" "${add_kiosk[@]}" --csr "$work/bad.csr"
refused "go together" merchant add al kiosk --name Kiosk --industry cafe \
	--public-key "$mine/sign.pub"
refused "not an Ed25519 public key" "${add_kiosk[@]}" --public-key "$mine/client.csr" \
	--csr "$mine/client.csr"
# the quick merchant's key claimed by another merchant
"${pc[@]}" merchant keygen al thief "$work/thief" >/dev/null
refused "already registered" merchant add al thief --name T --industry cafe \
	--public-key "$qdir/sign.pub" --csr "$work/thief/client.csr"
"${pc[@]}" merchant list al >"$work/out"
grep -q '^kiosk ' "$work/out" && fail "a refused add left merchant kiosk"
grep -q '^thief ' "$work/out" && fail "a refused add left merchant thief"
[ ! -e "$mine/client.crt" ] || fail "a refused add wrote a certificate"

"${pc[@]}" "${add_kiosk[@]}" --csr "$mine/client.csr" >"$work/out" 2>"$work/err" \
	|| fail "merchant add with the merchant's own keys failed"
[ "$(cat "$work/out")" = "$kid" ] || fail "add registered $(cat "$work/out"), keygen made $kid"
openssl x509 -in "$mine/client.crt" -noout -subject -nameopt RFC2253 | grep -qx 'subject=CN=kiosk,O=al' \
	|| fail "the issued certificate's subject is not O=al, CN=kiosk"
openssl verify -CAfile "$admin/alliances/al/ca.crt" "$mine/client.crt" >/dev/null \
	|| fail "the issued certificate does not chain to the alliance CA"
[ "$(openssl x509 -in "$mine/client.crt" -noout -pubkey)" = \
  "$(openssl req -in "$mine/client.csr" -noout -pubkey)" ] \
	|| fail "the certificate is not for the request's key"
[ ! -e "$admin/alliances/al/merchants/kiosk" ] \
	|| fail "the operator's side holds files of the merchant that made its own keys"
(cd "$home" && find . -type f | sort) | diff -u "$work/home.want" - >&2 \
	|| fail "the daemon's home changed after merchant add"

# the same with plain openssl (docs/KEYS.md), no pointclear on the merchant's side
oss=$work/oss
(umask 077 && mkdir "$oss" &&
	openssl genpkey -algorithm ed25519 -out "$oss/sign.key" &&
	openssl pkey -in "$oss/sign.key" -pubout -out "$oss/sign.pub" &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$oss/client.key" &&
	openssl req -new -key "$oss/client.key" -subj "/O=al/CN=oss" -out "$oss/client.csr") \
	2>"$work/err" || fail "the openssl commands of docs/KEYS.md failed"
"${pc[@]}" merchant add al oss --name "Open Source" --industry cafe --issue-price 10/1 \
	--redeem-rate 8/1 --public-key "$oss/sign.pub" --csr "$oss/client.csr" --out "$oss" \
	>"$work/out" 2>"$work/err" || fail "merchant add with openssl-made keys failed"
[ -s "$oss/client.crt" ] || fail "no certificate for the openssl-made request"

# ---- modes: every private key 0600, in a 0700 directory
for k in "$home/operator/receipt.key" "$home/tls/server.key" "$admin/tls/ca.key" \
	"$admin/alliances/al/ca.key" "$qdir/sign.key" "$qdir/client.key" \
	"$mine/sign.key" "$mine/client.key"; do
	[ "$(stat -c %a "$k")" = 600 ] || fail "$k has mode $(stat -c %a "$k"), not 600"
	d=$(dirname "$k")
	[ "$(stat -c %a "$d")" = 700 ] || fail "$d has mode $(stat -c %a "$d"), not 700"
done

# ---- random member ids
"${pc[@]}" member add al --count 3 --out "$work/members" >"$work/out"
[ "$(wc -l <"$work/members")" -eq 3 ] || fail "member add --out did not write 3 ids"
grep -Evq '^m[a-z2-7]{16}$' "$work/members" && fail "member ids are not m + 16 base32 characters"
[ "$(stat -c %a "$work/members")" = 600 ] || fail "the member list is not 0600"
grep -qx 'added 3 members (0 already enrolled)' "$work/out" || fail "member add --out: no count"
[ "$(sort -u "$work/members" | wc -l)" -eq 3 ] || fail "member ids repeat"
member=$(head -n 1 "$work/members")

# the simulator draws from these ids: from the list in any order, or from the
# database, the same seed gives the same lines
"${pc[@]}" simulate al --merchants kiosk,quick --members-file "$work/members" \
	--events 50 --seed 7 >"$work/sim1" || fail "simulate --members-file failed"
sort -r "$work/members" >"$work/members.rev"
"${pc[@]}" simulate al --merchants kiosk,quick --members-file "$work/members.rev" \
	--events 50 --seed 7 >"$work/sim2" || fail "simulate (reversed list) failed"
"${pc[@]}" simulate al --merchants kiosk,quick --events 50 --seed 7 >"$work/sim3" \
	|| fail "simulate from the database failed"
cmp -s "$work/sim1" "$work/sim2" || fail "simulate: the list's order changed the lines"
cmp -s "$work/sim1" "$work/sim3" || fail "simulate: the database's members gave other lines"
grep -o '"member":"[^"]*"' "$work/sim1" | sort -u | sed 's/.*:"//; s/"$//' >"$work/sim.members"
comm -23 "$work/sim.members" <(sort "$work/members") | grep -q . \
	&& fail "simulate used ids that are not members"
printf 'ok-id\nbad id\n' >"$work/badlist"
refused ":2: 'bad id' is not a member id" simulate al --merchants kiosk --members-file "$work/badlist"

# ---- the daemon; events signed with the merchant's own key
start_daemon "$daemon_db" "$home" || start_daemon "$daemon_db" "$home" \
	|| fail "pointcleard exited during start-up"

printf '{"merchant":"kiosk","event_id":"own-1","kind":"earn","member":"%s","points":120}\n' \
	"$member" >"$work/ev1"
"${pc[@]}" submit --server "127.0.0.1:$port" --merchant-dir "$mine" al "$work/ev1" \
	>"$work/out" 2>"$work/err" || fail "submit with the merchant's own keys failed"
grep -q '^kiosk own-1 RECORDED APPROVED ' "$work/out" || fail "own-1 not recorded and approved"
printf '{"merchant":"oss","event_id":"oss-1","kind":"earn","member":"%s","points":7}\n' \
	"$member" >"$work/ev-oss"
"${pc[@]}" submit --server "127.0.0.1:$port" --merchant-dir "$oss" al "$work/ev-oss" \
	>"$work/out" 2>"$work/err" || fail "submit with openssl-made keys failed"
grep -q '^oss oss-1 RECORDED APPROVED ' "$work/out" || fail "oss-1 not recorded and approved"
signer=$(psql -X "$conninfo" -qAtc \
	"SELECT key_id FROM ledger WHERE alliance_id = 'al' AND event_id = 'own-1'")
[ "$signer" = "$kid" ] || fail "own-1 was recorded under key '$signer', not $kid"

# one directory is one merchant's keys
printf '{"merchant":"quick","event_id":"q-1","kind":"earn","member":"%s","points":5}\n' \
	"$member" >>"$work/ev1"
refused "holds the keys of kiosk, not of quick" submit --server "127.0.0.1:$port" \
	--merchant-dir "$mine" al "$work/ev1"
# the quick path's merchant, from the admin home's default directory
printf '{"merchant":"quick","event_id":"q-1","kind":"earn","member":"%s","points":5}\n' \
	"$member" >"$work/ev2"
"${pc[@]}" submit --server "127.0.0.1:$port" al "$work/ev2" >"$work/out" 2>"$work/err" \
	|| fail "submit for the quick-path merchant failed"
grep -q '^quick q-1 RECORDED APPROVED ' "$work/out" || fail "q-1 not recorded and approved"

# ---- rotation with the merchant's new public key
"${pc[@]}" merchant keygen al kiosk "$mine" --sign-only >"$work/out" || fail "keygen --sign-only failed"
kid2=$(cat "$work/out")
[ "$kid2" != "$kid" ] || fail "keygen --sign-only made the same key"
[ -s "$mine/sign.key.$kid" ] || fail "the old signing key was not kept as sign.key.$kid"
[ "$(stat -c %a "$mine/sign.key")" = 600 ] || fail "the new sign.key is not 0600"
refused "with --public-key nothing is written" merchant rotate-key al kiosk \
	--public-key "$mine/sign.pub" --out "$work/x"
"${pc[@]}" merchant rotate-key al kiosk --public-key "$mine/sign.pub" >"$work/out" \
	|| fail "rotate-key --public-key failed"
[ "$(cat "$work/out")" = "$kid2" ] || fail "rotate-key registered $(cat "$work/out"), not $kid2"
refused "already registered" merchant rotate-key al kiosk --public-key "$mine/sign.pub"
printf '{"merchant":"kiosk","event_id":"own-2","kind":"redeem","member":"%s","points":20}\n' \
	"$member" >"$work/ev3"
"${pc[@]}" submit --server "127.0.0.1:$port" --merchant-dir "$mine" al "$work/ev3" \
	>"$work/out" 2>"$work/err" || fail "submit after the rotation failed"
grep -q '^kiosk own-2 RECORDED APPROVED ' "$work/out" || fail "own-2 not recorded and approved"

# ---- the daemon refuses a private key that group or others may read, and names it
for key in operator/receipt.key tls/server.key; do
	chmod 0640 "$home/$key"
	if "$PC_POINTCLEARD" --db "$daemon_db" --home "$home" --listen 127.0.0.1:0 \
		>"$work/refused.log" 2>&1; then
		fail "pointcleard started with $key at mode 0640"
	fi
	grep -q "$home/$key" "$work/refused.log" || fail "the refusal does not name $key"
	grep -q "0640" "$work/refused.log" || fail "the refusal does not give $key's mode"
	chmod 0600 "$home/$key"
done
echo "key_custody: ok"
