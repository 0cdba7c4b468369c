"""A primary and a streaming standby of our own, for replication tests.

The harness's shared cluster is never touched: each node is a cluster in
JABCLND_TMP, made with initdb as the postgres user, on a free port of its
own, listening on its own unix socket directory only (listen_addresses = '',
replication over the socket). jabclnd is preloaded on both; its worker logs
in with the account the test writes on the primary (the standby gets it by
replication) and starts on the standby only when it is promoted.

    pair = Pair("sync")               # nothing runs yet: pair.stop() is safe from here on
    pair.start_primary()              # primary up, database jabclnd with the extension
    pair.add_standby()                # pg_basebackup -R, started, streaming
    pair.make_synchronous()           # synchronous_standby_names = 'standby'
    ...
    pair.primary.stop("immediate"); pair.standby.promote()
    pair.rejoin(pair.primary, pair.standby)   # pg_rewind the old primary, a standby again
    pair.stop()                       # every process of both nodes, also after a crash

Every process started here is stopped by stop(): pg_ctl by data dir (fast,
then immediate), and then any process whose working directory is still one
of the data dirs (what a killed postmaster leaves behind), by pid.
"""
import os
import signal
import socket
import subprocess
import time

import psycopg2

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
STANDBY_NAME = "standby"


def free_port():
    """A free TCP port on 127.0.0.1 (the cluster only uses it to name its socket)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(*args, timeout=120, check=True):
    """Runs a PostgreSQL program as the postgres user (initdb refuses root)."""
    result = subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): "
                             f"{result.stdout}{result.stderr}")
    return result


def wait_until(what, probe, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except psycopg2.Error as e:
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {last!r}")


class Node:
    """One cluster: its data dir, socket dir, port and log, all under `base`."""

    def __init__(self, base, name):
        self.name = name
        self.dir = os.path.join(base, name)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgresql.log")
        self.port = free_port()
        os.makedirs(self.dir)
        subprocess.run(["chown", "postgres:", self.dir], check=True)

    # -- settings --------------------------------------------------------------

    def settings(self, xmpp_ca):
        return f"""
# --- {self.name} (test/e2e/pg_pair.py)
port = {self.port}
listen_addresses = ''
unix_socket_directories = '{self.dir}'
logging_collector = off
log_line_prefix = '%m [%p] %b '
wal_level = replica
max_wal_senders = 5
# pg_rewind needs wal_log_hints (or data checksums) on the node it rewinds, and the WAL back
# to the checkpoint before the fork: the end-of-recovery checkpoint of a crashed node would
# recycle it.
wal_log_hints = on
wal_keep_size = '256MB'
hot_standby = on
shared_preload_libraries = 'jabclnd'
jabclnd.database = 'jabclnd'
jabclnd.tls_ca_file = '{xmpp_ca}'
jabclnd.retry_max_delay = '5s'
"""

    def append_settings(self, text):
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(text)

    # -- processes ---------------------------------------------------------------

    def start(self):
        as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w",
                    "-t", "60", "start")

    def running(self):
        return as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "status",
                           check=False).returncode == 0

    def stop(self, mode="fast", timeout=60):
        as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t",
                    str(timeout), "stop", timeout=timeout + 10)

    def promote(self):
        as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w", "-t", "60", "promote")

    def postmaster_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def processes(self):
        """Pids of the processes working in this data dir (every backend chdirs into it)."""
        real = os.path.realpath(self.data)
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{entry}/cwd") == real:
                    pids.append(int(entry))
            except OSError:
                pass  # gone meanwhile, or not ours to read
        return pids

    def kill_postmaster(self):
        """SIGKILL to the postmaster only: its children find out it died and exit."""
        os.kill(self.postmaster_pid(), signal.SIGKILL)

    def wait_gone(self, timeout=30):
        wait_until(f"every process of {self.name} to exit", lambda: not self.processes(),
                   timeout=timeout)

    def shut_down(self):
        """Stops whatever runs in this data dir: pg_ctl (fast, then immediate), then by pid.
        A killed postmaster may linger as a zombie that pg_ctl still signals: what counts
        is that no process works in the data dir afterwards."""
        if self.processes():
            for mode in ("fast", "immediate"):
                try:
                    self.stop(mode, timeout=20)
                    break
                except (AssertionError, subprocess.TimeoutExpired):
                    pass
        for pid in self.processes():  # left behind by a killed postmaster
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.wait_gone(timeout=10)

    # -- SQL -----------------------------------------------------------------------

    def connect(self, dbname="jabclnd"):
        conn = psycopg2.connect(host=self.dir, port=self.port, user="postgres", dbname=dbname,
                                connect_timeout=10)
        conn.autocommit = True
        return conn

    def sql(self, statement, args=None, dbname="jabclnd"):
        """Runs one statement on a connection of its own; returns its rows (or None)."""
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(statement, args)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def scalar(self, statement, args=None):
        rows = self.sql(statement, args)
        return rows[0][0] if rows else None

    def worker_status(self):
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT * FROM jabclnd_status()")
                names = [d[0] for d in cur.description]
                return dict(zip(names, cur.fetchone()))
        finally:
            conn.close()

    def wait_online(self, timeout=60):
        return wait_until(f"the worker of {self.name} online",
                          lambda: (lambda s: s if s["state"] == "online" else None)(
                              self.worker_status()), timeout=timeout)

    def worker_wait_event(self):
        return self.scalar("SELECT wait_event FROM pg_stat_activity "
                           "WHERE backend_type = 'jabclnd worker'")

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Pair:
    """A primary (with jabclnd created in database jabclnd) and, on demand, its standby."""

    def __init__(self, label):
        # One dir per pair and per pass: the e2e suite runs once per XMPP server in one temp dir.
        self.base = os.path.join(os.environ["JABCLND_TMP"],
                                 f"pair-{os.environ.get('XMPP_SERVER', 'xmpp')}-{label}")
        os.makedirs(self.base)
        os.chmod(self.base, 0o755)
        self.xmpp_ca = os.environ["XMPP_CA"]
        self.primary = Node(self.base, "primary")
        self.standby = None
        self.nodes = [self.primary]

    def start_primary(self):
        """initdb, start, CREATE DATABASE jabclnd and the extension in it."""
        as_postgres(os.path.join(PG_BIN, "initdb"), "-D", self.primary.data, "-A", "trust",
                    "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8")
        # The database before the first start (single-user mode): a worker that finds no
        # database waits about 10 s before it looks again.
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PG_BIN, "postgres"),
                        "--single", "-D", self.primary.data, "postgres"],
                       input="CREATE DATABASE jabclnd;\n", capture_output=True, text=True,
                       check=True, timeout=60)
        self.primary.append_settings(self.primary.settings(self.xmpp_ca))
        self.primary.start()
        self.primary.sql("CREATE EXTENSION jabclnd")

    def add_standby(self):
        """pg_basebackup -R from the primary, started and streaming."""
        standby = Node(self.base, STANDBY_NAME)
        self.standby = standby
        self.nodes.append(standby)
        as_postgres(os.path.join(PG_BIN, "pg_basebackup"), "-h", self.primary.dir, "-p",
                    str(self.primary.port), "-U", "postgres", "-D", standby.data, "-R",
                    "-X", "stream", "-c", "fast")
        # Its own port and socket; cluster_name is the walreceiver's application_name,
        # which synchronous_standby_names names. Once promoted it waits for no one.
        standby.append_settings(standby.settings(self.xmpp_ca) +
                                f"cluster_name = '{STANDBY_NAME}'\n"
                                "synchronous_standby_names = ''\n")
        standby.start()
        wait_until("the standby streaming", lambda: self.primary.scalar(
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s "
            "AND state = 'streaming'", (STANDBY_NAME,)))
        return standby

    def make_synchronous(self, synchronous_commit="on"):
        self.primary.sql(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
        self.primary.sql(f"ALTER SYSTEM SET synchronous_commit = '{synchronous_commit}'")
        self.primary.sql("SELECT pg_reload_conf()")
        wait_until("the standby synchronous", lambda: self.primary.scalar(
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s "
            "AND sync_state = 'sync'", (STANDBY_NAME,)))

    def rejoin(self, old, new_primary, name="rejoined"):
        """The old primary, after a failover, back as a standby of new_primary: pg_rewind (its
        timeline forked where new_primary was promoted), then started and streaming.

        A CHECKPOINT on new_primary first: pg_rewind reads the source's timeline from its
        control file, which only the first checkpoint after the promotion updates (before
        it, pg_rewind finds the timelines equal and rewinds nothing). pg_rewind copies the
        source's configuration files too: the node's own port and socket are set again."""
        new_primary.sql("CHECKPOINT", dbname="postgres")
        source = f"host={new_primary.dir} port={new_primary.port} user=postgres dbname=postgres"
        as_postgres(os.path.join(PG_BIN, "pg_rewind"), "-D", old.data, "--source-server", source,
                    "-R")
        old.append_settings(old.settings(self.xmpp_ca) + f"cluster_name = '{name}'\n")
        old.start()
        wait_until(f"{old.name} streaming from {new_primary.name}", lambda: new_primary.scalar(
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s "
            "AND state = 'streaming'", (name,)))

    def use_account(self, jid, password):
        """The one enabled account, written on the primary (the standby gets it by replication)."""
        self.primary.sql("INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass, srv_host, port) "
                         "VALUES (true, %s, %s, %s, %s)",
                         (jid, password, os.environ.get("XMPP_HOST", "127.0.0.1"),
                          int(os.environ["XMPP_PORT"])))

    def stop(self):
        errors = []
        for node in reversed(self.nodes):
            try:
                node.shut_down()
            except Exception as e:  # stop the other one anyway
                errors.append(f"{node.name}: {e!r}")
        assert not errors, f"stopping the pair failed: {errors}"
