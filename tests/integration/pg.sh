#!/usr/bin/env bash
# pg.sh - a throwaway PostgreSQL 15 cluster for the integration tests and the demo.
#
#   pg.sh start DIR   creates and starts a cluster, prints its conninfo base
#   pg.sh stop DIR    stops it and removes its files
#   pg.sh halt DIR [fast|immediate]   stops the server only, keeping its files
#                     (immediate: as after a crash, recovery on the next start)
#   pg.sh resume DIR  starts a halted server again, same socket and data
#
# The cluster itself lives in a fresh directory under /tmp (mode 0755): PostgreSQL
# refuses to run as root, so as root the cluster runs as user postgres, which must
# be able to reach its directory; and a unix socket path must stay under ~100
# bytes, which a deep build directory may not. DIR only records where it is:
#   DIR/cluster    the cluster's directory (data in cluster/data, socket in cluster)
#   DIR/conninfo   "host=<socket dir> user=postgres", also printed on start
#   DIR/server.log the server's log (a symlink into the cluster directory)
# It listens on its unix socket only (listen_addresses = ''), authentication trust.
# PC_PG_FSYNC=off may be set to trade durability for speed (default: PostgreSQL's).
# PC_PG_SETTINGS="shared_buffers = 2GB; max_wal_size = 8GB" adds settings (bench.sh).
set -euo pipefail

usage() { echo "usage: pg.sh start|stop|resume DIR, or pg.sh halt DIR [fast|immediate]" >&2; exit 2; }
[ $# -eq 2 ] || { [ $# -eq 3 ] && [ "$1" = halt ]; } || usage
action=$1
dir=$2
mode=${3:-fast}

bindir=""
for d in /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null || true)"; do
	if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
		bindir=$d
		break
	fi
done
if [ -z "$bindir" ]; then
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		bindir=$(dirname "$(command -v initdb)")
	else
		echo "pg.sh: no initdb/pg_ctl found (install postgresql-15)" >&2
		exit 1
	fi
fi

# Runs a PostgreSQL binary as the cluster's owner.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

stop_cluster() {
	local cluster=$1
	if [ -f "$cluster/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$cluster/data" -m fast -w -t 60 stop >/dev/null 2>&1 \
			|| as_owner "$bindir/pg_ctl" -D "$cluster/data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
			|| true
	fi
	case "$cluster" in
	/tmp/pcpg.*) rm -rf -- "$cluster" ;;
	esac
}

case "$action" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	# A cluster left over from an earlier run (crashed test, ^C) goes first.
	if [ -f "$dir/cluster" ]; then
		stop_cluster "$(cat "$dir/cluster")"
		rm -f "$dir/cluster" "$dir/conninfo" "$dir/server.log"
	fi
	if [ "$(id -u)" -eq 0 ] && ! id -u postgres >/dev/null 2>&1; then
		echo "pg.sh: running as root needs a 'postgres' user (install postgresql-15)" >&2
		exit 1
	fi
	cluster=$(mktemp -d /tmp/pcpg.XXXXXX)
	chmod 0755 "$cluster"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$cluster"
	fi
	echo "$cluster" >"$dir/cluster"
	if ! as_owner "$bindir/initdb" -D "$cluster/data" -A trust -U postgres -E UTF8 \
		--locale=C.UTF-8 >"$cluster/initdb.log" 2>&1; then
		# older/odd systems may lack the C.UTF-8 locale
		rm -rf "${cluster:?}/data"
		if ! as_owner "$bindir/initdb" -D "$cluster/data" -A trust -U postgres -E UTF8 \
			--locale=C >"$cluster/initdb.log" 2>&1; then
			cat "$cluster/initdb.log" >&2
			echo "pg.sh: initdb failed" >&2
			exit 1
		fi
	fi
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$cluster'"
		echo "max_connections = 200"
		if [ -n "${PC_PG_FSYNC:-}" ]; then
			echo "fsync = ${PC_PG_FSYNC}"
		fi
		if [ -n "${PC_PG_SETTINGS:-}" ]; then
			# extra postgresql.conf lines, "name = value; name = value"
			tr ';' '\n' <<<"$PC_PG_SETTINGS"
		fi
	} | as_owner tee -a "$cluster/data/postgresql.conf" >/dev/null
	ln -sf "$cluster/server.log" "$dir/server.log"
	if ! as_owner "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
		start >/dev/null; then
		cat "$cluster/server.log" >&2 || true
		echo "pg.sh: the server did not start" >&2
		exit 1
	fi
	conninfo="host=$cluster user=postgres"
	echo "$conninfo" >"$dir/conninfo"
	echo "$conninfo"
	;;
stop)
	if [ -f "$dir/cluster" ]; then
		stop_cluster "$(cat "$dir/cluster")"
		rm -f "$dir/cluster" "$dir/conninfo" "$dir/server.log"
	fi
	;;
halt)
	[ -f "$dir/cluster" ] || { echo "pg.sh: no cluster recorded in $dir" >&2; exit 1; }
	case "$mode" in
	fast|immediate) ;;
	*) usage ;;
	esac
	cluster=$(cat "$dir/cluster")
	as_owner "$bindir/pg_ctl" -D "$cluster/data" -m "$mode" -w -t 60 stop >/dev/null
	;;
resume)
	[ -f "$dir/cluster" ] || { echo "pg.sh: no cluster recorded in $dir" >&2; exit 1; }
	cluster=$(cat "$dir/cluster")
	if ! as_owner "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
		start >/dev/null; then
		tail -n 30 "$cluster/server.log" >&2 || true
		echo "pg.sh: the server did not start again" >&2
		exit 1
	fi
	;;
*)
	usage
	;;
esac
