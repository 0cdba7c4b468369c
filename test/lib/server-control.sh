# test/lib/server-control.sh: what prosody-control and ejabberd-control share.
#
# Sourced by them, not run. The sourcing script sets
#   SC_NAME        the server's name, for messages
#   SC_RECORD      file that holds the pid of the process we signal
#   SC_LOGS        files whose end is shown when a start fails (an array)
#   SC_START_WAIT  seconds to wait for the ports to listen
# and defines
#   sc_launch          starts the server in the background, as a child of
#                      this shell, and sets SC_LAUNCHED to its pid
#   sc_main_pid        prints the pid of the process to signal (the server
#                      itself), or fails while it is not known yet
#   sc_is_ours PID     true if PID runs our server: a command line naming a
#                      path unique to this run (a reused pid is not ours)
#
# The recorded pid is signalled only while sc_is_ours says it is still our
# server; when the record is gone (the temp dir removed under us), our
# server is found by its command line. Nothing else is ever signalled.

# sc_listening PORT...: every PORT accepts TCP connections on 127.0.0.1.
sc_listening() {
	/usr/bin/python3 - "$@" <<'PY' 2>/dev/null
import socket, sys
for port in sys.argv[1:]:
    s = socket.socket()
    s.settimeout(0.2)
    if s.connect_ex(("127.0.0.1", int(port))) != 0:
        sys.exit(1)
    s.close()
PY
}

# sc_still_ours PID: PID is alive and still our server.
sc_still_ours() {
	kill -0 "$1" 2>/dev/null && sc_is_ours "$1"
}

# sc_cmdline PID: PID's arguments, one a line.
sc_cmdline() {
	tr '\0' '\n' 2>/dev/null < "/proc/$1/cmdline"
}

# The recorded pid, if that process is still our server.
sc_running_pid() {
	local pid
	pid=$(cat "$SC_RECORD" 2>/dev/null) || return 1
	[ -n "$pid" ] && sc_still_ours "$pid" && echo "$pid"
}

# Our server found by its command line (sc_is_ours), when there is no record.
sc_pid_by_cmdline() {
	local proc
	for proc in /proc/[0-9]*; do
		sc_is_ours "${proc#/proc/}" && { echo "${proc#/proc/}"; return 0; }
	done
	return 1
}

# Records the server's pid once sc_main_pid knows it (idempotent).
sc_record() {
	[ -s "$SC_RECORD" ] && return 0
	local pid
	pid=$(sc_main_pid) && [ -n "$pid" ] && echo "$pid" > "$SC_RECORD"
}

sc_show_logs() {
	local f
	for f in "${SC_LOGS[@]}"; do
		[ -s "$f" ] && { echo "--- last lines of $f"; tail -n 30 "$f"; } >&2
	done
}

# Starts the server and returns once PORT... listen (within SC_START_WAIT
# seconds); otherwise shows its logs, stops it and fails.
sc_start() {
	if sc_running_pid >/dev/null; then
		echo "$SC_NAME is already running (pid $(sc_running_pid))" >&2
		return 1
	fi
	rm -f "$SC_RECORD"
	sc_launch || { echo "$SC_NAME could not be launched" >&2; return 1; }
	local deadline=$((SECONDS + SC_START_WAIT))
	while [ "$SECONDS" -le "$deadline" ]; do
		sc_record
		sc_listening "$@" && sc_record && return 0
		kill -0 "$SC_LAUNCHED" 2>/dev/null || break  # our own child: its pid is not reused
		sleep 0.2
	done
	if kill -0 "$SC_LAUNCHED" 2>/dev/null; then
		echo "$SC_NAME did not listen on 127.0.0.1 ports $* within $SC_START_WAIT s" >&2
	else
		echo "$SC_NAME exited during startup" >&2
	fi
	sc_show_logs
	sc_stop
	# The launcher is our own child: if it outlived the server (or the server
	# never appeared), it goes too.
	kill -0 "$SC_LAUNCHED" 2>/dev/null && kill -TERM "$SC_LAUNCHED" 2>/dev/null
	return 1
}

# Stops our server: SIGTERM, up to 10 s, then SIGKILL. Does nothing if it is
# not running.
sc_stop() {
	local pid i
	pid=$(sc_running_pid) || pid=$(sc_pid_by_cmdline) || { rm -f "$SC_RECORD"; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 100); do
		sc_still_ours "$pid" || break
		sleep 0.1
	done
	if sc_still_ours "$pid"; then
		echo "$SC_NAME (pid $pid) ignored SIGTERM for 10 s: SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$SC_RECORD"
	return 0
}
