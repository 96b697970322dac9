# daemon.sh - sourced by the integration scripts that run pointcleard: defines
# start_daemon DB HOME, which starts $PC_POINTCLEARD on a free loopback port
# with the connection string DB and the home directory HOME, its output in
# $work/daemon.log, and returns once it listens and its writer connection is
# ready. It sets port and daemon_pid (the caller's cleanup stops the daemon),
# uses the caller's $python and $work, and calls the caller's fail when the
# daemon is not up in time; it returns 1 when the daemon exited during
# start-up, so that the caller can try once more.

# The port is one the kernel picked, released just before the daemon binds it;
# another test may take it in between, hence the caller's second try.
start_daemon() {
	local d_db=$1 d_home=$2
	port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	: >"$work/daemon.log"
	"$PC_POINTCLEARD" --db "$d_db" --home "$d_home" --listen "127.0.0.1:$port" \
		>>"$work/daemon.log" 2>&1 &
	daemon_pid=$!
	# up: listening, and the writer connected (until then answers are RETRYABLE)
	for _ in $(seq 1 400); do
		if grep -q 'listening on' "$work/daemon.log" &&
			grep -q 'db=writer state=ready' "$work/daemon.log"; then
			return 0
		fi
		kill -0 "$daemon_pid" 2>/dev/null || { daemon_pid=""; return 1; }
		sleep 0.05
	done
	fail "pointcleard was not up within 20 s"
}
