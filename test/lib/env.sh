# test/lib/env.sh: the pieces test/run and test/demo share.
#
# Sourced, not run. Each env_* function returns non-zero (after saying why)
# when its step fails, so callers can stop at the first failing step. What
# they start is recorded (the XMPP server's pid, the cluster's data dir) and
# stopped by env_teardown, which callers install as an EXIT trap, so a
# failing run still leaves no process and no temporary directory behind.
# Only loopback addresses are used; nothing we did not start is ever
# signalled.
#
# Two XMPP servers can be tested, one at a time: Prosody and Debian's
# ejabberd (env_start_xmpp prosody|ejabberd), with the same domains
# (localhost, other.localhost, conference.localhost), the same accounts
# (XMPP_USERS), each on ports of its own.
#
# Exported for the suites once env_start_xmpp and env_start_postgres have run:
#   JABCLND_TMP     the temp dir (everything below lives in it)
#   XMPP_SERVER     prosody or ejabberd: the server of this pass
#   XMPP_HOST XMPP_PORT XMPP_TLS_PORT XMPP_DOMAIN XMPP_CA
#   XMPP_COMPONENT_PORT (Prosody: external components, XEP-0114; see test_retries.py)
#                   the server on 127.0.0.1: STARTTLS port, direct-TLS port,
#                   domain "localhost", the throwaway CA that signed its cert
#   XMPP_CONTROL    test/lib/xmpp-control: start|stop|restart the server,
#                   register|passwd USER HOST PASSWORD
#   XMPP_CONFIG XMPP_LOG   the server's config file and its main log
#   PROSODY_CONFIG PROSODY_LOG PROSODY_PIDFILE   (Prosody: test/lib/prosody-control)
#   EJABBERD_DIR    (ejabberd: its config dir, test/lib/ejabberd-control)
#   PGHOST PGPORT PGUSER PGDATABASE PGDATA PG_BIN PG_LOG
#                   the cluster: socket dir, port, postgres, jabclnd, data dir,
#                   /usr/lib/postgresql/15/bin, its server log

PG_BIN=/usr/lib/postgresql/15/bin
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LIB_DIR/../.." && pwd)
PYTHON=/usr/bin/python3   # Debian's python, which sees python3-slixmpp and friends

PACKAGES="postgresql-15 postgresql-server-dev-15 libstrophe-dev libc-ares-dev postgresql-15-pgtap
libtap-parser-sourcehandler-pgtap-perl prosody ejabberd python3-slixmpp python3-psycopg2
python3-pytest openssl pkg-config make g++ libgtest-dev dnsmasq-base \
prometheus-postgres-exporter"

# The XMPP servers the tests can run against (env_start_xmpp).
XMPP_SERVERS_KNOWN="prosody ejabberd"

# Accounts every test may log in as (user:password, on localhost unless a domain is given).
# They, and only they, are exempt from the servers' rate limits (@TEST_JIDS@ in the configs).
XMPP_USERS="bot:botpass bot2:bot2pass alice:alicepass bob:bobpass carol:carolpass
dave:davepass eve:evepass outsider@other.localhost:outsiderpass
harness1:harness1pass harness2:harness2pass"

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'test setup: %s\n' "$*" >&2; return 1; }

# Installs the Debian packages that are missing; does nothing (no apt) when all are there.
# Installing ejabberd (or prometheus-postgres-exporter) enables Debian's own
# service and starts it on all addresses unless /usr/sbin/policy-rc.d refuses
# (the tests start their own exporter, on loopback): if there is none, one that
# refuses is put there for the install and removed afterwards (also on
# failure: env_teardown). A Debian ejabberd that runs anyway is not ours to
# stop: it is only reported.
env_install_packages() {
	local missing=() pkg status
	for pkg in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	apt-get update -qq || fail "apt-get update failed" || return 1
	env_refuse_service_starts || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>/dev/null
	status=$?
	env_allow_service_starts
	[ "$status" -eq 0 ] || fail "apt-get install ${missing[*]} failed" || return 1
	env_report_system_ejabberd
}

POLICY_RC_D=/usr/sbin/policy-rc.d

# Puts a policy-rc.d that refuses every service start in place, if there is none.
env_refuse_service_starts() {
	[ -e "$POLICY_RC_D" ] && return 0
	printf '#!/bin/sh\n# test/lib/env.sh: no service starts while it installs packages\nexit 101\n' \
		> "$POLICY_RC_D" && chmod 755 "$POLICY_RC_D" ||
		fail "could not write $POLICY_RC_D" || return 1
	ENV_POLICY_RC_D_OURS=$(cat "$POLICY_RC_D")
}

# Removes the policy-rc.d we put there (and only if it is still ours).
env_allow_service_starts() {
	[ -n "${ENV_POLICY_RC_D_OURS:-}" ] || return 0
	[ "$(cat "$POLICY_RC_D" 2>/dev/null)" = "$ENV_POLICY_RC_D_OURS" ] && rm -f "$POLICY_RC_D"
	ENV_POLICY_RC_D_OURS=
}

# Says so if Debian's own ejabberd (or an epmd) runs: not ours, left alone.
env_report_system_ejabberd() {
	local found
	found=$(ps -eo pid=,user=,args= | grep -E '(beam\.smp|epmd)( |$)' | grep -v grep)
	[ -z "$found" ] && return 0
	printf 'note: Erlang processes we did not start are running (Debian'"'"'s ejabberd?); left alone:\n%s\n' \
		"$found" >&2
}

env_build() {
	log "building and installing jabclnd"
	make -s -C "$REPO_DIR" WERROR=1 || fail "make WERROR=1 failed" || return 1
	make -s -C "$REPO_DIR" install || fail "make install failed"
}

# free_ports N: N distinct free TCP ports on 127.0.0.1, one a line (all held
# open while choosing, so no two are the same).
free_ports() {
	"$PYTHON" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
}

# Makes the temp dir (traversable by postgres, prosody and ejabberd) and
# exports JABCLND_TMP and the cluster's PGPORT (each XMPP server gets its
# ports when it starts).
env_tmpdir() {
	JABCLND_TMP=$(mktemp -d /tmp/jabclnd-test.XXXXXX) || fail "mktemp failed" || return 1
	chmod 755 "$JABCLND_TMP"
	export JABCLND_TMP
	PGPORT=$(free_ports 1) || fail "no free ports" || return 1
	export PGPORT
}

# A throwaway CA and a certificate for the test domains (localhost,
# other.localhost, conference.localhost), readable by prosody and postgres.
env_certificates() {
	local dir=$JABCLND_TMP/certs out
	mkdir -p "$dir"
	printf '%s\n' 'subjectAltName=DNS:localhost,DNS:other.localhost,DNS:conference.localhost' \
		'basicConstraints=critical,CA:FALSE' 'extendedKeyUsage=serverAuth' > "$dir/server.ext"
	if ! out=$(
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=jabclnd test CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
			-keyout "$dir/ca.key" -out "$dir/ca.pem" 2>&1 &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
			-keyout "$dir/localhost.key" -out "$dir/localhost.csr" 2>&1 &&
		openssl x509 -req -in "$dir/localhost.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
			-CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/localhost.crt" 2>&1
	); then
		printf '%s\n' "$out" >&2
		fail "could not make the test certificates"
		return 1
	fi
	chmod 755 "$dir"; chmod 644 "$dir"/*
	export XMPP_CA=$dir/ca.pem
}

# The bare JIDs of XMPP_USERS, one a line.
env_test_jids() {
	local entry user
	for entry in $XMPP_USERS; do
		user=${entry%%:*}
		[[ $user == *@* ]] && echo "$user" || echo "$user@localhost"
	done
}

# env_fill_template IN OUT NAME=VALUE...: IN with every @NAME@ replaced.
# @CERTS@ and @TEST_JIDS@ ("bot@localhost", "bot2@localhost", ...: a Lua
# table's items and a YAML flow sequence's alike) are always filled in.
env_fill_template() {
	local in=$1 out=$2 jids pair args=()
	shift 2
	jids=$(env_test_jids | sed 's/.*/"&"/' | paste -sd, - | sed 's/,/, /g')
	for pair in "CERTS=$JABCLND_TMP/certs" "TEST_JIDS=$jids" "$@"; do
		args+=(-e "s|@${pair%%=*}@|${pair#*=}|g")
	done
	sed "${args[@]}" "$in" > "$out" || fail "could not write $out"
}

# Prosody's config, in DIR; exports PROSODY_CONFIG PROSODY_LOG PROSODY_PIDFILE.
env_configure_prosody() {
	local dir=$1
	mkdir -p "$dir/data"
	export PROSODY_CONFIG=$dir/prosody.cfg.lua PROSODY_LOG=$dir/prosody.log
	export PROSODY_PIDFILE=$dir/prosody.pid
	export XMPP_CONFIG=$PROSODY_CONFIG XMPP_LOG=$PROSODY_LOG
	env_fill_template "$LIB_DIR/prosody.cfg.lua.in" "$PROSODY_CONFIG" "DIR=$dir" \
		"C2S_PORT=$XMPP_PORT" "TLS_PORT=$XMPP_TLS_PORT" "COMPONENT_PORT=$XMPP_COMPONENT_PORT"
}

# ejabberd's config dir DIR (ejabberd.yml, ejabberdctl.cfg, inetrc; spool,
# logs and run dirs the ejabberd user writes to), on a third free port for
# Erlang distribution and with a cookie drawn now; exports EJABBERD_DIR.
env_configure_ejabberd() {
	local dir=$1 dist_port cookie
	dist_port=$(free_ports 1) || fail "no free port for Erlang distribution" || return 1
	cookie=$(openssl rand -hex 16) || fail "openssl rand failed" || return 1
	mkdir -p "$dir/spool" "$dir/logs" "$dir/run" "$dir/modules" "$dir/modules.d"
	chown ejabberd: "$dir/spool" "$dir/logs" "$dir/run" "$dir/modules" "$dir/modules.d" ||
		fail "could not give $dir's spool and logs to the ejabberd user" || return 1
	export EJABBERD_DIR=$dir
	export XMPP_CONFIG=$dir/ejabberd.yml XMPP_LOG=$dir/logs/ejabberd.log
	env_fill_template "$LIB_DIR/ejabberd.yml.in" "$dir/ejabberd.yml" \
		"C2S_PORT=$XMPP_PORT" "TLS_PORT=$XMPP_TLS_PORT" || return 1
	env_fill_template "$LIB_DIR/ejabberdctl.cfg.in" "$dir/ejabberdctl.cfg" "DIR=$dir" \
		"DIST_PORT=$dist_port" "COOKIE=$cookie" || return 1
	cp "$LIB_DIR/ejabberd.inetrc" "$dir/inetrc" || return 1
	chmod 644 "$dir/ejabberd.yml" "$dir/ejabberdctl.cfg" "$dir/inetrc"
	ENV_EPMD_BEFORE=$(env_epmd_pids)
}

env_epmd_pids() { ps -eo pid=,comm= | awk '$2 == "epmd" {print $1}' | sort; }

# Writes the config of SERVER (prosody or ejabberd) in $JABCLND_TMP/SERVER,
# on free ports, starts it in the foreground (pid recorded by its control
# script), and registers the test accounts. Exports the XMPP_* variables
# above. On failure the control script has shown the server's log.
env_start_xmpp() {
	local server=$1 ports
	[[ " $XMPP_SERVERS_KNOWN " == *" $server "* ]] ||
		fail "unknown XMPP server '$server' ($XMPP_SERVERS_KNOWN)" || return 1
	ports=$(free_ports 3) || fail "no free ports" || return 1
	{ read -r XMPP_PORT; read -r XMPP_TLS_PORT; read -r XMPP_COMPONENT_PORT; } <<<"$ports"
	export XMPP_SERVER=$server XMPP_HOST=127.0.0.1 XMPP_DOMAIN=localhost XMPP_PORT XMPP_TLS_PORT
	export XMPP_COMPONENT_PORT
	export XMPP_CONTROL=$LIB_DIR/xmpp-control
	mkdir -p "$JABCLND_TMP/$server"
	"env_configure_$server" "$JABCLND_TMP/$server" || fail "could not configure $server" || return 1
	ENV_XMPP_STARTED=1
	log "starting $server on 127.0.0.1:$XMPP_PORT (STARTTLS) and :$XMPP_TLS_PORT (direct TLS)"
	"$XMPP_CONTROL" start || fail "$server did not start" || return 1
	env_register_accounts
}

# Registers XMPP_USERS with the running server.
env_register_accounts() {
	local entry user password jid
	for entry in $XMPP_USERS; do
		user=${entry%%:*}; password=${entry#*:}
		jid=$user; [[ $jid == *@* ]] || jid=$user@localhost
		"$XMPP_CONTROL" register "${jid%@*}" "${jid#*@}" "$password" ||
			fail "could not register $jid with $XMPP_SERVER" || return 1
	done
}

# Stops the server env_start_xmpp started (by its recorded pid). Fails if an
# epmd appeared meanwhile (ejabberd's should never start one: ERL_DIST_PORT).
env_stop_xmpp() {
	[ -n "${ENV_XMPP_STARTED:-}" ] || return 0
	ENV_XMPP_STARTED=
	"$XMPP_CONTROL" stop
	if [ "$XMPP_SERVER" = ejabberd ] && [ "$(env_epmd_pids)" != "${ENV_EPMD_BEFORE:-}" ]; then
		fail "an epmd started while ejabberd ran (not stopped: maybe not ours): $(env_epmd_pids | paste -sd' ')"
		return 1
	fi
}

# test/demo and bench/run use Prosody.
env_start_prosody() { env_start_xmpp prosody; }

# env_start_postgres [NAME]: creates and starts a PostgreSQL 15 cluster in
# $JABCLND_TMP/NAME (default pg) with jabclnd preloaded, and the database
# jabclnd (without the extension: the tests create it).
env_start_postgres() {
	local dir=$JABCLND_TMP/${1:-pg}
	mkdir -p "$dir"; chown postgres: "$dir"
	export PGDATA=$dir/data PGHOST=$dir PGUSER=postgres PGDATABASE=jabclnd PG_BIN PGPORT
	export PG_LOG=$dir/postgresql.log
	local out
	out=$(su postgres -c "$PG_BIN/initdb -D '$PGDATA' -A trust -U postgres -E UTF8 --locale=C.UTF-8" 2>&1) ||
		{ printf '%s\n' "$out" >&2; fail "initdb failed"; return 1; }
	# The worker runs as a dedicated role, as README's install steps say,
	# not as the superuser; created before the first start (single-user
	# mode), so the worker finds it at once. CREATE EXTENSION grants it
	# what the worker needs (jabclnd.role below).
	out=$(echo "CREATE ROLE jabclnd_worker LOGIN;" |
		su postgres -c "$PG_BIN/postgres --single -D '$PGDATA' template1" 2>&1) ||
		{ printf '%s\n' "$out" >&2; fail "creating the role jabclnd_worker failed"; return 1; }
	# jabclnd.retry_max_delay: the worker's backoff after a lost connection
	# is capped at 5 s instead of 5 min, so fault tests that stop the XMPP server see
	# it log in again within their timeouts.
	cat >> "$PGDATA/postgresql.conf" <<CONF

# --- jabclnd test cluster (test/lib/env.sh)
port = $PGPORT
listen_addresses = ''
unix_socket_directories = '$dir'
logging_collector = off
log_min_messages = info
shared_preload_libraries = 'jabclnd'
jabclnd.database = 'jabclnd'
jabclnd.role = 'jabclnd_worker'
jabclnd.tls_ca_file = '$XMPP_CA'
jabclnd.retry_max_delay = '5s'
CONF
	ENV_STARTED_POSTGRES=${1:-pg}
	su postgres -c "$PG_BIN/pg_ctl -D '$PGDATA' -l '$PG_LOG' -w -t 30 start" >/dev/null ||
		{ fail "PostgreSQL did not start (log: $PG_LOG)"; return 1; }
	ENV_PG_PID=$(head -n 1 "$PGDATA/postmaster.pid")
	su postgres -c "$PG_BIN/createdb -h '$dir' -p $PGPORT jabclnd" ||
		fail "createdb jabclnd failed"
}

# env_use_postgres NAME: the cluster NAME is the one running: a new one
# (env_start_postgres NAME) unless it already is, after stopping any other.
env_use_postgres() {
	[ "${ENV_STARTED_POSTGRES:-}" = "$1" ] && return 0
	env_stop_postgres
	env_start_postgres "$1"
}

# env_is_our_postmaster PID: PID is alive and is the postgres started on our data dir.
env_is_our_postmaster() {
	local args
	kill -0 "$1" 2>/dev/null || return 1
	args=$(tr '\0' '\n' 2>/dev/null < "/proc/$1/cmdline") || return 1
	grep -qE '(^|/)postgres$' <<<"$args" && grep -qxF -- "$PGDATA" <<<"$args"
}

# Stops the cluster env_start_postgres started, if it runs.
env_stop_postgres() {
	[ -n "${ENV_STARTED_POSTGRES:-}" ] || return 0
	# By its data dir: only our cluster. Immediate if a fast stop hangs.
	su postgres -c "$PG_BIN/pg_ctl -D '$PGDATA' status" >/dev/null 2>&1 &&
		{ su postgres -c "$PG_BIN/pg_ctl -D '$PGDATA' -m fast -w -t 20 stop" >/dev/null 2>&1 ||
		  su postgres -c "$PG_BIN/pg_ctl -D '$PGDATA' -m immediate -w stop" >/dev/null 2>&1; }
	# If the data dir vanished under us, pg_ctl cannot find the postmaster:
	# stop it by the pid recorded at start, if that is still our postmaster
	# (SIGINT is a fast shutdown, SIGQUIT an immediate one).
	if [ -n "${ENV_PG_PID:-}" ] && env_is_our_postmaster "$ENV_PG_PID"; then
		kill -INT "$ENV_PG_PID" 2>/dev/null
		local i
		for i in $(seq 1 100); do
			env_is_our_postmaster "$ENV_PG_PID" || break
			sleep 0.1
		done
		env_is_our_postmaster "$ENV_PG_PID" && kill -QUIT "$ENV_PG_PID" 2>/dev/null
	fi
	ENV_STARTED_POSTGRES=
}

# Stops what we started and removes the temp dir (kept with KEEP_TMP=1).
# Shows the end of both servers' logs when the exit status it runs with
# (or ENV_FAILED=1) says something failed.
env_teardown() {
	local status=$?
	if { [ "$status" -ne 0 ] || [ -n "${ENV_FAILED:-}" ]; } && [ -n "${JABCLND_TMP:-}" ]; then
		for f in "${PG_LOG:-}" "${XMPP_LOG:-}"; do
			[ -s "$f" ] && { echo "--- last lines of $f"; tail -n 30 "$f"; }
		done
	fi
	env_stop_postgres
	env_stop_xmpp
	env_allow_service_starts
	if [ -n "${JABCLND_TMP:-}" ] && [ -z "${KEEP_TMP:-}" ]; then
		rm -rf "$JABCLND_TMP"
	elif [ -n "${JABCLND_TMP:-}" ]; then
		echo "kept $JABCLND_TMP"
	fi
	JABCLND_TMP=
	return $status
}
