#!/usr/bin/env bash
# batch_cost.sh - instructions PostgreSQL spends on one pc_record_batch call, counted
# by callgrind, which does not move with the host's speed (docs/PERFORMANCE.md,
# "What limits it").
#
#   tools/bench/batch_cost.sh DATADIR DBNAME SIZE [PRE.sql]
#
# DATADIR is a stopped PostgreSQL 15 cluster whose database DBNAME a bench run
# has filled (pointclear-bench; the alliance's ledger is where the batches come
# from). It is not touched: the script works on a copy in a temporary directory
# (as large as DATADIR). PRE.sql, if given, is applied to the copy first (a
# migration to compare). Then, in a single-user backend under callgrind, it runs
# 40 warm-up batches of 200 events and then 2, and again 12, batches of SIZE (1-600)
# events (earns, redemptions, referrals and purchases the ledger recorded, under
# new event ids), each committed; the difference of the two runs over 10 is the
# cost of one batch. full_page_writes is off in the backend: right after the copy
# every page's first change would log a full-page image, which a server in its
# steady state seldom does. Needs valgrind; as root, the backend runs as postgres.
# With BATCH_COST_KEEP=DIR the two callgrind profiles are kept there (cg.2 and
# cg.12) for callgrind_annotate.
set -euo pipefail

[ $# -ge 3 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
data=$(cd "$1" && pwd)
dbname=$2
size=$3
pre=${4:+$(cd "$(dirname "$4")" && pwd)/$(basename "$4")}
[[ "$size" =~ ^[1-9][0-9]*$ ]] && [ "$size" -le 600 ] || { echo "batch_cost.sh: SIZE is 1 to 600" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "batch_cost.sh: needs valgrind" >&2; exit 1; }
bindir=$(pg_config --bindir 2>/dev/null || true)
[ -x "$bindir/postgres" ] || bindir=/usr/lib/postgresql/15/bin
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

work=$(mktemp -d /tmp/pcbatchcost.XXXXXX)
trap 'as_owner "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
chmod 755 "$work"
cp -a "$data" "$work/data"
[ "$(id -u)" -ne 0 ] || chown -R postgres "$work"
rm -f "$work/data/postmaster.pid"

# The batches are built from the ledger once, in a table of the copy, so that
# every run reads the same arrays; PRE.sql is applied on the same server start.
# They come from the alliance whose id sorts last (each bench run adds one): its
# rising keys end their indexes, as a lone alliance's do, and an insert there
# takes the B-tree's rightmost-leaf path instead of a descent from the root.
as_owner "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start \
	-o "-c unix_socket_directories=$work -c listen_addresses= -c shared_preload_libraries=" >/dev/null
conn="host=$work user=$(as_owner id -un) dbname=$dbname"
psql -X -q -v ON_ERROR_STOP=1 "$conn" -v size="$size" <<'SQL'
CREATE TABLE batch_cost_src AS
SELECT row_number() OVER () - 1 AS r, l.alliance_id a, l.merchant_id m, 'cost-' || l.event_id ev,
       l.key_id k, l.kind, l.envelope env, l.payload_hash ph, l.event_time et, l.store_id st,
       l.terminal_id te, l.member_id mem, l.amount amt, rt.beneficiary_merchant_id ben,
       rt.channel ch, rt.campaign_id camp, coalesce(rt.referral_code, p.referral_code) code,
       rt.touched_at tt, p.currency::text cur
  FROM (SELECT * FROM ledger WHERE kind IN (1, 2, 7, 8) AND status = 1
           AND alliance_id = (SELECT max(alliance_id) FROM ledger_heads)
         ORDER BY seq DESC LIMIT 20000) l
  LEFT JOIN referral_touches rt ON rt.alliance_id = l.alliance_id AND rt.seq = l.seq
  LEFT JOIN purchases p ON p.alliance_id = l.alliance_id AND p.seq = l.seq;
-- warm-up batches of 200 from rows 8000 on (sz 0), measured batches of :size from row 0
CREATE TABLE batch_cost AS
SELECT g.sz, g.b, array_agg(a ORDER BY r) pa, array_agg(m ORDER BY r) pm, array_agg(ev ORDER BY r) pe,
       array_agg(k ORDER BY r) pk, array_agg(kind ORDER BY r) pkind, array_agg(env ORDER BY r) penv,
       array_agg(ph ORDER BY r) pph, array_agg(et ORDER BY r) pet, array_agg(st ORDER BY r) pst,
       array_agg(te ORDER BY r) pte, array_agg(mem ORDER BY r) pmem, array_agg(amt ORDER BY r) pamt,
       array_agg(NULL::text ORDER BY r) pre, array_agg(NULL::bigint ORDER BY r) prs,
       array_agg(NULL::int ORDER BY r) pdur, array_agg(NULL::text ORDER BY r) preason,
       array_agg(ben ORDER BY r) pben, array_agg(ch ORDER BY r) pch, array_agg(camp ORDER BY r) pcamp,
       array_agg(code ORDER BY r) pcode, array_agg(tt ORDER BY r) ptt, array_agg(cur ORDER BY r) pcur
  FROM batch_cost_src s
 CROSS JOIN LATERAL (VALUES (CASE WHEN s.r >= 8000 THEN 0 ELSE :size END,
                             CASE WHEN s.r >= 8000 THEN (s.r - 8000) / 200 ELSE s.r / :size END)) g(sz, b)
 WHERE s.r >= 8000 OR s.r < 12 * :size
 GROUP BY g.sz, g.b;
SQL
if [ -n "$pre" ]; then
	psql -X -q -v ON_ERROR_STOP=1 "$conn" -f "$pre"
fi
psql -X -q "$conn" -c CHECKPOINT
as_owner "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null
cp -a "$work/data" "$work/base"

call() {   # call SZ B: one batch (SZ 0: a warm-up one), committed (single-user mode ends a command at ";\n\n")
	printf 'BEGIN;\n\nSELECT count(*) FROM batch_cost x, LATERAL pc_record_batch(x.pa, x.pm, x.pe, x.pk, x.pkind, x.penv, x.pph, x.pet, x.pst, x.pte, x.pmem, x.pamt, x.pre, x.prs, x.pdur, x.preason, x.pben, x.pch, x.pcamp, x.pcode, x.ptt, x.pcur) WHERE x.sz = %d AND x.b = %d;\n\nCOMMIT;\n\n' "$1" "$2"
}
run() {    # run N: Ir of the warm-up and N measured batches, on a fresh copy
	rm -rf "$work/data"
	cp -a "$work/base" "$work/data"
	{
		for b in $(seq 0 39); do call 0 "$b"; done
		for b in $(seq 0 $(($1 - 1))); do call "$size" "$b"; done
	} >"$work/in.sql"
	chmod 644 "$work/in.sql"
	as_owner valgrind --tool=callgrind --callgrind-out-file="$work/cg.$1" \
		"$bindir/postgres" --single -j -D "$work/data" -c shared_preload_libraries= \
		-c full_page_writes=off "$dbname" <"$work/in.sql" >"$work/out.$1" 2>&1
	# every batch answered, the measured ones with one row per event
	if [ "$(grep -c "count = \"" "$work/out.$1")" -ne $((40 + $1)) ] ||
		[ "$(grep "count = \"" "$work/out.$1" | tail -n "$1" | grep -c "count = \"$size\"")" -ne "$1" ]; then
		echo "batch_cost.sh: a batch failed:" >&2
		grep -m 5 ERROR "$work/out.$1" >&2 || tail -5 "$work/out.$1" >&2
		exit 1
	fi
	[ -z "${BATCH_COST_KEEP:-}" ] || cp "$work/cg.$1" "$BATCH_COST_KEEP/"
	awk '/^totals:/ { print $2 }' "$work/cg.$1"
}
lo=$(run 2)
hi=$(run 12)
echo "$size-event batch: $(((hi - lo) / 10)) instructions (callgrind; $(basename "${pre:-no PRE.sql}"))"
