# test/lib/env.sh: the pieces test/run and test/demo share.
#
# Sourced, not run. Each env_* function returns non-zero (after saying why)
# when its step fails, so callers can stop at the first failing step. What
# they start is recorded (Prosody's pid, the cluster's data dir) and stopped
# by env_teardown, which callers install as an EXIT trap, so a failing run
# still leaves no process and no temporary directory behind. Only loopback
# addresses are used; nothing we did not start is ever signalled.
#
# Exported for the suites once env_start_postgres has run:
#   JABCLND_TMP     the temp dir (everything below lives in it)
#   XMPP_HOST XMPP_PORT XMPP_TLS_PORT XMPP_DOMAIN XMPP_CA
#                   Prosody on 127.0.0.1: STARTTLS port, direct-TLS port,
#                   domain "localhost", the throwaway CA that signed its cert
#   PROSODY_CONFIG PROSODY_LOG PROSODY_PIDFILE   (see test/lib/prosody-control)
#   PGHOST PGPORT PGUSER PGDATABASE PGDATA PG_BIN PG_LOG
#                   the cluster: socket dir, port, postgres, jabclnd, data dir,
#                   /usr/lib/postgresql/15/bin, its server log

PG_BIN=/usr/lib/postgresql/15/bin
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LIB_DIR/../.." && pwd)
PYTHON=/usr/bin/python3   # Debian's python, which sees python3-slixmpp and friends

PACKAGES="postgresql-15 postgresql-server-dev-15 libstrophe-dev postgresql-15-pgtap
libtap-parser-sourcehandler-pgtap-perl prosody python3-slixmpp python3-psycopg2 python3-pytest
openssl pkg-config make g++ libgtest-dev"

# Accounts every test may log in as (user:password, on localhost unless a domain is given).
# Keep unlimited_jids in prosody.cfg.lua.in in step: other accounts are rate-limited.
XMPP_USERS="bot:botpass bot2:bot2pass alice:alicepass bob:bobpass carol:carolpass
dave:davepass eve:evepass outsider@other.localhost:outsiderpass
harness1:harness1pass harness2:harness2pass"

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'test setup: %s\n' "$*" >&2; return 1; }

# Installs the Debian packages that are missing; does nothing (no apt) when all are there.
env_install_packages() {
	local missing=() pkg
	for pkg in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	apt-get update -qq || fail "apt-get update failed" || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>/dev/null || fail "apt-get install ${missing[*]} failed"
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

# Makes the temp dir (traversable by postgres and prosody) and exports JABCLND_TMP.
env_tmpdir() {
	JABCLND_TMP=$(mktemp -d /tmp/jabclnd-test.XXXXXX) || fail "mktemp failed" || return 1
	chmod 755 "$JABCLND_TMP"
	export JABCLND_TMP
	local ports
	ports=$(free_ports 3) || fail "no free ports" || return 1
	{ read -r XMPP_PORT; read -r XMPP_TLS_PORT; read -r PGPORT; } <<<"$ports"
	export XMPP_PORT XMPP_TLS_PORT PGPORT
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

# Writes Prosody's config, registers the test accounts, and starts Prosody in
# the foreground (a child of this shell, pid recorded) on the chosen ports.
env_start_prosody() {
	export XMPP_HOST=127.0.0.1 XMPP_DOMAIN=localhost
	local dir=$JABCLND_TMP/prosody
	mkdir -p "$dir/data"
	export PROSODY_CONFIG=$dir/prosody.cfg.lua PROSODY_LOG=$dir/prosody.log
	export PROSODY_PIDFILE=$dir/prosody.pid
	sed -e "s|@DIR@|$dir|g" -e "s|@CERTS@|$JABCLND_TMP/certs|g" \
		-e "s|@C2S_PORT@|$XMPP_PORT|g" -e "s|@TLS_PORT@|$XMPP_TLS_PORT|g" \
		"$LIB_DIR/prosody.cfg.lua.in" > "$PROSODY_CONFIG"
	local entry user password jid out
	for entry in $XMPP_USERS; do
		user=${entry%%:*}; password=${entry#*:}
		jid=$user; [[ $jid == *@* ]] || jid=$user@localhost
		out=$(prosodyctl --config "$PROSODY_CONFIG" register "${jid%@*}" "${jid#*@}" "$password" 2>&1) ||
			{ printf '%s\n' "$out" >&2; fail "prosodyctl register $jid failed"; return 1; }
	done
	"$LIB_DIR/prosody-control" start
}

# Creates and starts a PostgreSQL 15 cluster with jabclnd preloaded, and the
# database jabclnd (without the extension: the tests create it).
env_start_postgres() {
	local dir=$JABCLND_TMP/pg
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
	# is capped at 5 s instead of 5 min, so fault tests that stop Prosody see
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
	ENV_STARTED_POSTGRES=1
	su postgres -c "$PG_BIN/pg_ctl -D '$PGDATA' -l '$PG_LOG' -w -t 30 start" >/dev/null ||
		{ fail "PostgreSQL did not start (log: $PG_LOG)"; return 1; }
	ENV_PG_PID=$(head -n 1 "$PGDATA/postmaster.pid")
	su postgres -c "$PG_BIN/createdb -h '$dir' -p $PGPORT jabclnd" ||
		fail "createdb jabclnd failed"
}

# env_is_our_postmaster PID: PID is alive and is the postgres started on our data dir.
env_is_our_postmaster() {
	local args
	kill -0 "$1" 2>/dev/null || return 1
	args=$(tr '\0' '\n' 2>/dev/null < "/proc/$1/cmdline") || return 1
	grep -qE '(^|/)postgres$' <<<"$args" && grep -qxF -- "$PGDATA" <<<"$args"
}

# Stops what we started and removes the temp dir (kept with KEEP_TMP=1).
# Shows the end of both servers' logs when the exit status it runs with
# (or ENV_FAILED=1) says something failed.
env_teardown() {
	local status=$?
	if { [ "$status" -ne 0 ] || [ -n "${ENV_FAILED:-}" ]; } && [ -n "${JABCLND_TMP:-}" ]; then
		for f in "${PG_LOG:-}" "${PROSODY_LOG:-}"; do
			[ -s "$f" ] && { echo "--- last lines of $f"; tail -n 30 "$f"; }
		done
	fi
	if [ -n "${ENV_STARTED_POSTGRES:-}" ]; then
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
	fi
	[ -n "${PROSODY_PIDFILE:-}" ] && "$LIB_DIR/prosody-control" stop
	if [ -n "${JABCLND_TMP:-}" ] && [ -z "${KEEP_TMP:-}" ]; then
		rm -rf "$JABCLND_TMP"
	elif [ -n "${JABCLND_TMP:-}" ]; then
		echo "kept $JABCLND_TMP"
	fi
	JABCLND_TMP=
	return $status
}
