# test/lib/env.sh: the pieces test/run and test/demo share.
#
# Sourced, not run. Everything it starts is recorded (pids, data dirs) and
# stopped by env_teardown, which the callers install as an EXIT trap, so a
# failing test still leaves no process and no temporary directory behind.
# Only loopback addresses are used.

PG_BIN=/usr/lib/postgresql/15/bin
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LIB_DIR/../.." && pwd)
PYTHON=/usr/bin/python3   # Debian's python, which sees python3-slixmpp and friends

PACKAGES="postgresql-15 postgresql-server-dev-15 libstrophe-dev postgresql-15-pgtap
libtap-parser-sourcehandler-pgtap-perl prosody python3-slixmpp python3-psycopg2 python3-pytest
openssl pkg-config make g++ libgtest-dev"

log() { printf '\n== %s\n' "$*"; }

# Installs the Debian packages that are missing; does nothing (no apt) when all are there.
env_install_packages() {
	local missing=() pkg
	for pkg in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

env_build() {
	log "building and installing jabclnd"
	make -s -C "$REPO_DIR" WERROR=1
	make -s -C "$REPO_DIR" install
}

# A free TCP port on 127.0.0.1.
free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Makes the temp dir and exports JABCLND_TMP.
env_tmpdir() {
	JABCLND_TMP=$(mktemp -d /tmp/jabclnd-test.XXXXXX)
	chmod 755 "$JABCLND_TMP"
	export JABCLND_TMP
}

# A throwaway CA and a certificate for the test domains, readable by prosody and postgres.
env_certificates() {
	local dir=$JABCLND_TMP/certs
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=jabclnd test CA" \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$dir/localhost.key" -out "$dir/localhost.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,DNS:other.localhost,DNS:conference.localhost\n' > "$dir/san.ext"
	openssl x509 -req -in "$dir/localhost.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/localhost.crt" 2>/dev/null
	chmod 755 "$dir"; chmod 644 "$dir"/*
	export XMPP_CA=$dir/ca.pem
}

# Users every test may log in as: user password, on localhost unless a domain is given.
XMPP_USERS="bot:botpass bot2:bot2pass alice:alicepass bob:bobpass carol:carolpass
dave:davepass eve:evepass outsider@other.localhost:outsiderpass"

# Starts Prosody in the foreground (as a child of this shell) on free loopback ports.
env_start_prosody() {
	export XMPP_HOST=127.0.0.1 XMPP_DOMAIN=localhost
	XMPP_PORT=$(free_port); XMPP_TLS_PORT=$(free_port)
	export XMPP_PORT XMPP_TLS_PORT
	local dir=$JABCLND_TMP/prosody
	mkdir -p "$dir/data"
	export PROSODY_CONFIG=$dir/prosody.cfg.lua PROSODY_LOG=$dir/prosody.log
	export PROSODY_PIDFILE=$dir/prosody.pid
	sed -e "s|@DIR@|$dir|g" -e "s|@CERTS@|$JABCLND_TMP/certs|g" \
		-e "s|@C2S_PORT@|$XMPP_PORT|g" -e "s|@TLS_PORT@|$XMPP_TLS_PORT|g" \
		"$LIB_DIR/prosody.cfg.lua.in" > "$PROSODY_CONFIG"
	local entry user password jid
	for entry in $XMPP_USERS; do
		user=${entry%%:*}; password=${entry#*:}
		jid=$user; [[ $jid == *@* ]] || jid=$user@localhost
		prosodyctl --config "$PROSODY_CONFIG" register "${jid%@*}" "${jid#*@}" "$password" >/dev/null 2>&1
	done
	"$LIB_DIR/prosody-control" start
}

# Creates and starts a PostgreSQL 15 cluster with jabclnd preloaded.
env_start_postgres() {
	local dir=$JABCLND_TMP/pg
	mkdir -p "$dir"; chown postgres: "$dir"
	export PGDATA=$dir/data PGHOST=$dir PGUSER=postgres PGDATABASE=jabclnd PG_BIN
	export PG_LOG=$dir/postgresql.log
	PGPORT=$(free_port); export PGPORT
	su postgres -c "$PG_BIN/initdb -D '$PGDATA' -A trust -U postgres -E UTF8 --locale=C.UTF-8" >/dev/null
	cat >> "$PGDATA/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = ''
unix_socket_directories = '$dir'
shared_preload_libraries = 'jabclnd'
jabclnd.database = 'jabclnd'
jabclnd.tls_ca_file = '$XMPP_CA'
jabclnd.retry_max_delay = '5s'
log_min_messages = info
CONF
	su postgres -c "$PG_BIN/pg_ctl -D '$PGDATA' -l '$PG_LOG' -w start" >/dev/null
	ENV_STARTED_POSTGRES=1
	su postgres -c "$PG_BIN/createdb -h '$dir' -p $PGPORT jabclnd"
}

env_teardown() {
	local status=$?
	if [ "$status" -ne 0 ] && [ -n "${JABCLND_TMP:-}" ]; then
		for f in "${PG_LOG:-}" "${PROSODY_LOG:-}"; do
			[ -f "$f" ] && { echo "--- last lines of $f"; tail -n 30 "$f"; }
		done
	fi
	if [ -n "${ENV_STARTED_POSTGRES:-}" ]; then
		su postgres -c "$PG_BIN/pg_ctl -D '$PGDATA' -m fast -w stop" >/dev/null 2>&1 ||
			su postgres -c "$PG_BIN/pg_ctl -D '$PGDATA' -m immediate -w stop" >/dev/null 2>&1
	fi
	[ -n "${PROSODY_PIDFILE:-}" ] && "$LIB_DIR/prosody-control" stop
	if [ -n "${JABCLND_TMP:-}" ] && [ -z "${KEEP_TMP:-}" ]; then
		rm -rf "$JABCLND_TMP"
	elif [ -n "${JABCLND_TMP:-}" ]; then
		echo "kept $JABCLND_TMP"
	fi
	return $status
}
