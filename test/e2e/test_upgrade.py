"""End-to-end: upgrading the extension the way users do, and the worker meanwhile.

A cluster with jabclnd 1.0 installed and rows in every table; the library of 1.2
(installed and preloaded by test/run) refuses to serve it and says so; ALTER
EXTENSION jabclnd UPDATE; the worker serves the tables by itself, every row is
still there, and the schema is the same, object by object, as a fresh install
of 1.2 in the same database (which runs the same scripts: the comparison guards
against a script that behaves differently on a table with rows, or an install
script added later).

The schemas are compared through the catalogs (schema_snapshot), not pg_dump:
pg_dump writes an extension's objects as one CREATE EXTENSION line. The
comparison itself is tested to fail on a difference of each kind it looks at.
"""
import os
import time

import pytest

from worker_helpers import (connect, query, scalar, status, use_account, wait_for,
                            wait_state)

ALICE = "alice@localhost"
ALICE_PASSWORD = "alicepass"
OLD = "1.0"
NEW = "1.2"  # jabclnd.control's default_version, the one the library serves

# The extension's member objects, in any catalog: (classid, objid).
MEMBERS = """
    SELECT classid, objid FROM pg_depend
     WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
       AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'jabclnd')"""
MEMBER_RELATIONS = f"""
    SELECT objid FROM ({MEMBERS}) m WHERE classid = 'pg_class'::regclass"""

# What a schema is made of, one query per kind of object; every row names its object
# by name (never by oid, which differs between two installs), and says everything the
# catalog holds about it that an install decides.
SNAPSHOT_QUERIES = {
    "extension": """
        SELECT extversion, extrelocatable, extnamespace::regnamespace::text,
               (SELECT array_agg(c::regclass::text ORDER BY n)
                  FROM unnest(extconfig) WITH ORDINALITY AS u(c, n))::text,
               extcondition::text
          FROM pg_extension WHERE extname = 'jabclnd'""",
    "members": f"""
        SELECT pg_describe_object(classid, objid, 0) FROM ({MEMBERS}) m""",
    "relations": f"""
        SELECT c.relname, c.relkind, c.relpersistence, c.relowner::regrole::text,
               c.relacl::text, c.reloptions::text, c.relhasindex, c.relhastriggers,
               c.relrowsecurity, c.relreplident, obj_description(c.oid, 'pg_class'),
               CASE c.relkind WHEN 'v' THEN pg_get_viewdef(c.oid) END
          FROM pg_class c WHERE c.oid IN ({MEMBER_RELATIONS})""",
    "columns": f"""
        SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
               a.attisdropped, a.attcollation::regcollation::text, a.attacl::text,
               a.attstorage, a.atthasmissing, col_description(c.oid, a.attnum)
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.oid IN ({MEMBER_RELATIONS}) AND a.attnum > 0""",
    "constraints": f"""
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid),
               condeferrable, condeferred, convalidated, conindid::regclass::text,
               obj_description(oid, 'pg_constraint')
          FROM pg_constraint WHERE conrelid IN ({MEMBER_RELATIONS})""",
    "indexes": f"""
        SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text,
               pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary,
               i.indisexclusion, i.indimmediate, i.indisvalid,
               obj_description(i.indexrelid, 'pg_class')
          FROM pg_index i WHERE i.indrelid IN ({MEMBER_RELATIONS})""",
    # Internal triggers (of constraints) are named after oids: counted per constraint.
    "triggers": f"""
        SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled,
               obj_description(t.oid, 'pg_trigger')
          FROM pg_trigger t WHERE t.tgrelid IN ({MEMBER_RELATIONS}) AND NOT t.tgisinternal
        UNION ALL
        SELECT t.tgrelid::regclass::text, c.conname, count(*)::text, NULL, NULL
          FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint
         WHERE t.tgrelid IN ({MEMBER_RELATIONS}) AND t.tgisinternal
         GROUP BY 1, 2""",
    "functions": f"""
        SELECT p.proname, pg_get_functiondef(p.oid), p.proowner::regrole::text,
               p.proacl::text, obj_description(p.oid, 'pg_proc')
          FROM pg_proc p
         WHERE p.oid IN (SELECT objid FROM ({MEMBERS}) m WHERE classid = 'pg_proc'::regclass)""",
    "sequences": f"""
        SELECT s.seqrelid::regclass::text, format_type(s.seqtypid, NULL), s.seqstart,
               s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle,
               (SELECT d.refobjid::regclass::text || '.' || a.attname || ' ' || d.deptype::text
                  FROM pg_depend d
                  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
          FROM pg_sequence s WHERE s.seqrelid IN ({MEMBER_RELATIONS})""",
    # What pg_dump takes as the extension's own privileges (it dumps the others).
    "init_privs": f"""
        SELECT pg_describe_object(i.classoid, i.objoid, i.objsubid), i.privtype,
               i.initprivs::text
          FROM pg_init_privs i
         WHERE (i.classoid, i.objoid) IN (SELECT classid, objid FROM ({MEMBERS}) m)""",
    "rules_and_policies": f"""
        SELECT ev_class::regclass::text, rulename, pg_get_ruledef(oid) FROM pg_rewrite
         WHERE ev_class IN ({MEMBER_RELATIONS})
        UNION ALL
        SELECT polrelid::regclass::text, polname, polcmd::text FROM pg_policy
         WHERE polrelid IN ({MEMBER_RELATIONS})""",
}


def schema_snapshot(conn):
    """The extension's schema as {kind: sorted list of rows}, comparable across installs."""
    snapshot = {}
    for kind, sql in SNAPSHOT_QUERIES.items():
        rows = query(conn, sql)
        snapshot[kind] = sorted(tuple("NULL" if v is None else str(v) for v in row)
                                for row in rows)
    return snapshot


def schema_differences(a, b, a_name="a", b_name="b"):
    """What differs between two snapshots, one line per row found in only one of them."""
    lines = []
    for kind in sorted(set(a) | set(b)):
        rows_a, rows_b = set(a.get(kind, [])), set(b.get(kind, []))
        lines += [f"{kind}: only in {a_name}: {row}" for row in sorted(rows_a - rows_b)]
        lines += [f"{kind}: only in {b_name}: {row}" for row in sorted(rows_b - rows_a)]
    return lines


# ---------------------------------------------------------------- helpers

def extversion(conn):
    return scalar(conn, "SELECT extversion FROM pg_extension WHERE extname = 'jabclnd'")


def log_since(offset):
    with open(os.environ["PG_LOG"], errors="replace") as log:
        log.seek(offset)
        return log.read()


def table_rows(conn, table, columns):
    """Every row of `table`, the given columns, in a stable order."""
    cols = ", ".join(columns)
    return query(conn, f"SELECT {cols} FROM {table} ORDER BY {cols}")


def columns_of(conn, table):
    return [r[0] for r in query(conn, """
        SELECT attname FROM pg_attribute
         WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum""",
                                (table,))]


def all_rows(conn, columns):
    """{table: rows} for the tables and identity sequences of the extension at 1.0."""
    rows = {table: table_rows(conn, table, cols) for table, cols in columns.items()}
    for seq in ("xmpp_accounts_id_seq", "xmpp_tx_queue_id_seq", "xmpp_rx_queue_id_seq",
                "xmpp_rx_set_aside_id_seq"):
        rows[seq] = query(conn, f"SELECT last_value, is_called FROM {seq}")
    return rows


TABLES_1_0 = ("xmpp_accounts", "xmpp_tx_queue", "xmpp_rx_queue", "openfire_users",
              "xmpp_presence", "xmpp_rx_set_aside")


def fill_every_table(conn):
    """Rows in every table of 1.0: the account, tx rows sent, failed and pending (returned),
    received messages, users, presence, messages set aside."""
    use_account(conn)
    query(conn, """INSERT INTO xmpp_tx_queue (message_to, message_body, submission_timestamp,
                                              submission_attempts)
                   VALUES ('alice@localhost', 'upgrade: sent under 1.0',
                           now() - interval '1 hour', 1)""")
    query(conn, """INSERT INTO xmpp_tx_queue (message_to, message_body, submission_failed,
                                              submission_info, submission_attempts)
                   VALUES ('not a jid', 'upgrade: failed under 1.0', true, 'invalid JID', 1)""")
    pending = [scalar(conn, """INSERT INTO xmpp_tx_queue (message_to, message_body)
                               VALUES (%s, %s) RETURNING id""", (ALICE, f"upgrade: pending {n}"))
               for n in (1, 2, 3)]
    query(conn, """INSERT INTO xmpp_rx_queue (message_stanza, message_from, message_type,
                                              message_id, message_subject, message_body)
                   VALUES ('<message from="alice@localhost/x"><body>hi</body></message>',
                           'alice@localhost/x', 'chat', 'rx-1', NULL, 'upgrade: received'),
                          (NULL, 'bob@localhost/y', 'normal', NULL, 'subject', 'upgrade: 2')""")
    # Disabled: the worker must not put them on its roster (the roster outlives the test).
    query(conn, """INSERT INTO openfire_users (login, pass, enabled, name, email)
                   VALUES ('upgrade_user', md5('x'), false, 'Upgrade User', 'u@example.org'),
                          ('upgrade_nopass', NULL, false, NULL, NULL)""")
    query(conn, """INSERT INTO xmpp_presence (jid, resource, show, status, priority)
                   VALUES ('upgrade@localhost', 'phone', 'away', 'out', 5)""")
    query(conn, """INSERT INTO xmpp_rx_set_aside (message_stanza, message_from, message_id, error)
                   VALUES ('<message/>', 'carol@localhost/z', 'aside-1',
                           'refused by a trigger (SQLSTATE P0001)')""")
    for table in TABLES_1_0:
        assert scalar(conn, f"SELECT count(*) FROM {table}") > 0, table
    return pending


@pytest.fixture
def restore():
    """Afterwards, pass or fail: the extension at the default version and the bot online,
    as the other tests expect it."""
    yield
    conn = connect()
    try:
        version = extversion(conn)
        if version != NEW:
            query(conn, "DROP EXTENSION IF EXISTS jabclnd")
            query(conn, "CREATE EXTENSION jabclnd")
        query(conn, "DELETE FROM openfire_users WHERE login LIKE 'upgrade%'")
        use_account(conn)
        wait_state(conn, "online", timeout=30)
    finally:
        conn.close()


# ------------------------------------------------------------------ tests

def test_update_from_1_0_keeps_every_row_and_equals_a_fresh_install(restore, peer_factory):
    conn = connect()
    query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
    pid = wait_for("the worker to run", lambda: status(conn)["worker_pid"])
    log_offset = os.path.getsize(os.environ["PG_LOG"])

    # 1.0 exactly as it was shipped, with rows in every table.
    query(conn, "DROP EXTENSION IF EXISTS jabclnd")
    query(conn, f"CREATE EXTENSION jabclnd VERSION '{OLD}'")
    assert extversion(conn) == OLD
    pending = fill_every_table(conn)

    # The library serves 1.2 only: it waits, says what to do, and touches nothing.
    mismatch = wait_state(conn, "schema_mismatch", timeout=20)
    assert "is at version 1.0" in mismatch["last_error"], mismatch
    assert "ALTER EXTENSION jabclnd UPDATE" in mismatch["last_error"], mismatch
    assert mismatch["worker_pid"] == pid, "the worker must not crash on an old schema"
    # More commits wake it: still waiting, never database_error, and the line in the log
    # only once.
    for _ in range(3):
        query(conn, "UPDATE xmpp_accounts SET port = port")
        time.sleep(0.5)
        assert status(conn)["state"] == "schema_mismatch", status(conn)
    assert scalar(conn, """SELECT sum(submission_attempts) FROM xmpp_tx_queue
                            WHERE id = ANY(%s)""", (pending,)) == 0, \
        "the worker claimed rows of a schema it does not serve"
    log = log_since(log_offset).splitlines()
    lines = [n for n, line in enumerate(log) if "is at version 1.0" in line]
    assert len(lines) == 1, [log[n] for n in lines]
    assert "ALTER EXTENSION jabclnd UPDATE" in log[lines[0]], log[lines[0]]
    # (A unit running while DROP EXTENSION commits may fail once before: not this test's.)
    failures = [line for line in log[lines[0]:] if "jabclnd:" in line and "failed" in line]
    assert not failures, failures

    # The update, checked before it commits: nothing the worker does can interfere.
    columns = {table: columns_of(conn, table) for table in TABLES_1_0}
    before = all_rows(conn, columns)
    conn.autocommit = False
    query(conn, "ALTER EXTENSION jabclnd UPDATE")
    assert extversion(conn) == NEW
    assert all_rows(conn, columns) == before, "rows changed in ALTER EXTENSION jabclnd UPDATE"
    assert scalar(conn, "SELECT count(*) FROM xmpp_rx_queue WHERE stanza_id IS NOT NULL") == 0
    assert scalar(conn, "SELECT count(*) FROM xmpp_rooms") == 0
    conn.commit()
    conn.autocommit = True

    # The worker serves 1.2 by itself (the update wakes it), and sends what waited.
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    online = wait_state(conn, "online", timeout=30)
    assert online["worker_pid"] == pid and online["last_error"] in (None, ""), online
    for n in (1, 2, 3):
        alice.wait_message(lambda m, n=n: m["body"] == f"upgrade: pending {n}")
    wait_for("the pending rows to be marked sent", lambda: scalar(conn, """
        SELECT bool_and(submission_timestamp IS NOT NULL AND NOT submission_failed)
          FROM xmpp_tx_queue WHERE id = ANY(%s)""", (pending,)))

    # Every row is still there, unchanged, but where the worker changes rows: the pending
    # ones (sent now), and xmpp_presence (emptied at each login: it describes a
    # connection). Rows may have been added: messages the server kept for the account
    # while it was offline arrive at the login.
    after = all_rows(conn, columns)
    for name in before:
        if name.endswith("_seq"):
            assert after[name][0][0] >= before[name][0][0], f"{name} went back"
        elif name not in ("xmpp_tx_queue", "xmpp_presence"):
            missing = set(before[name]) - set(after[name])
            assert not missing, f"{name}: rows lost or changed: {missing}"
    tx_columns = columns["xmpp_tx_queue"]
    assert tx_columns[0] == "id"
    rows_before = {r[0]: dict(zip(tx_columns, r)) for r in before["xmpp_tx_queue"]}
    rows_after = {r[0]: dict(zip(tx_columns, r)) for r in after["xmpp_tx_queue"]}
    assert rows_after.keys() == rows_before.keys()
    assert after["xmpp_tx_queue_id_seq"] == before["xmpp_tx_queue_id_seq"]
    for row_id, row in rows_before.items():
        if row_id in pending:
            assert rows_after[row_id]["submission_timestamp"] is not None
            assert rows_after[row_id]["submission_attempts"] >= 1
            row = dict(row, submission_timestamp=rows_after[row_id]["submission_timestamp"],
                       submission_attempts=rows_after[row_id]["submission_attempts"])
        assert rows_after[row_id] == row, row_id

    # The updated schema is a fresh install, object by object.
    updated = schema_snapshot(conn)
    query(conn, "DROP EXTENSION jabclnd")
    query(conn, "CREATE EXTENSION jabclnd")
    assert extversion(conn) == NEW
    fresh = schema_snapshot(conn)
    differences = schema_differences(updated, fresh, "1.0 + UPDATE", f"fresh {NEW}")
    assert not differences, "\n".join(differences)
    assert status(conn)["worker_pid"] == pid
    conn.close()


def test_a_schema_newer_than_the_library_waits_for_its_library(restore, peer_factory):
    """A schema the library does not know (here: the current one made to say 9.9) is refused with the
    other hint, and served again, without a restart, as soon as the version matches."""
    conn = connect()
    query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
    use_account(conn)
    pid = wait_state(conn, "online", timeout=30)["worker_pid"]
    log_offset = os.path.getsize(os.environ["PG_LOG"])
    try:
        conn.autocommit = False
        query(conn, "UPDATE pg_extension SET extversion = '9.9' WHERE extname = 'jabclnd'")
        query(conn, "SELECT jabclnd_wake()")
        conn.commit()
        conn.autocommit = True
        mismatch = wait_state(conn, "schema_mismatch", timeout=20)
        assert f"is at version 9.9, newer than version {NEW}" in mismatch["last_error"], mismatch
        assert "install the jabclnd library of version 9.9" in mismatch["last_error"], mismatch
        row = scalar(conn, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                           "VALUES (%s, 'upgrade: after 9.9') RETURNING id", (ALICE,))
        time.sleep(2)
        assert scalar(conn, "SELECT submission_attempts FROM xmpp_tx_queue WHERE id = %s",
                      (row,)) == 0
        assert status(conn)["state"] == "schema_mismatch"
        lines = [line for line in log_since(log_offset).splitlines() if "version 9.9" in line]
        assert len(lines) == 1 and "restart PostgreSQL" in lines[0], lines
    finally:
        if not conn.autocommit:
            conn.rollback()
            conn.autocommit = True
        conn.autocommit = False
        query(conn, "UPDATE pg_extension SET extversion = %s WHERE extname = 'jabclnd'", (NEW,))
        query(conn, "SELECT jabclnd_wake()")
        conn.commit()
        conn.autocommit = True
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    assert wait_state(conn, "online", timeout=30)["worker_pid"] == pid
    alice.wait_message(lambda m: m["body"] == "upgrade: after 9.9")
    conn.close()


def test_the_comparison_finds_differences():
    """schema_differences() on snapshots: equal ones have none; each differing row is named
    with the side it is on."""
    a = {"columns": [("xmpp_rooms", "2", "nick", "text")], "indexes": [("x", "i")]}
    assert schema_differences(a, {k: list(v) for k, v in a.items()}) == []
    b = {"columns": [("xmpp_rooms", "2", "nick", "character varying")],
         "indexes": [("x", "i")], "triggers": [("t",)]}
    assert schema_differences(a, b, "old", "new") == [
        "columns: only in old: ('xmpp_rooms', '2', 'nick', 'text')",
        "columns: only in new: ('xmpp_rooms', '2', 'nick', 'character varying')",
        "triggers: only in new: ('t',)",
    ]


# One change of each kind the snapshot looks at, made in a transaction that is rolled back.
CHANGES = {
    "a column default": ("columns", "ALTER TABLE xmpp_rooms ALTER COLUMN nick SET DEFAULT 'x'"),
    "a column's NOT NULL": ("columns", "ALTER TABLE xmpp_rooms ALTER COLUMN nick SET NOT NULL"),
    "a column added": ("columns", "ALTER TABLE xmpp_rooms ADD COLUMN extra integer"),
    "a column's comment": ("columns", "COMMENT ON COLUMN xmpp_rooms.nick IS 'changed'"),
    "a column grant": ("columns", "GRANT UPDATE (nick) ON xmpp_rooms TO jabclnd_worker"),
    "a table grant": ("relations", "GRANT DELETE ON xmpp_rooms TO jabclnd_worker"),
    "a table comment": ("relations", "COMMENT ON TABLE xmpp_rooms IS 'changed'"),
    "a constraint": ("constraints",
                     "ALTER TABLE xmpp_rooms ADD CONSTRAINT extra CHECK (nick <> 'x')"),
    "a constraint's name": ("constraints", """ALTER TABLE xmpp_rooms RENAME CONSTRAINT
                            "history_max_stanzas must be 0 or more" TO history_check"""),
    "an index's predicate": ("indexes", """DROP INDEX xmpp_rx_queue_stanza_id;
        CREATE INDEX xmpp_rx_queue_stanza_id ON xmpp_rx_queue
            (lower(split_part(message_from, '/', 1)), stanza_id)"""),
    "a trigger disabled": ("triggers", "ALTER TABLE xmpp_rooms DISABLE TRIGGER xmpp_rooms_wake"),
    "a trigger dropped": ("triggers", "DROP TRIGGER xmpp_rooms_wake ON xmpp_rooms"),
    "a function's settings": ("functions",
                              "ALTER FUNCTION jabclnd_status() SET work_mem = '1MB'"),
    "a function grant": ("functions", "GRANT EXECUTE ON FUNCTION jabclnd_wake() TO PUBLIC"),
    "a sequence": ("sequences", "ALTER SEQUENCE xmpp_tx_queue_id_seq CACHE 10"),
    "the dump configuration": ("extension", """UPDATE pg_extension
        SET extcondition[array_length(extcondition, 1)] = 'WHERE enabled'
        WHERE extname = 'jabclnd'"""),
    "a member": ("members", "ALTER EXTENSION jabclnd DROP TABLE xmpp_rooms"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_comparison_catches(change, restore):
    """Each kind of difference between two installs shows in the comparison."""
    kind, sql = CHANGES[change]
    conn = connect()
    query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
    before = schema_snapshot(conn)
    conn.autocommit = False
    try:
        query(conn, "SET LOCAL lock_timeout = '10s'")
        query(conn, sql)
        changed = schema_snapshot(conn)
    finally:
        conn.rollback()
        conn.autocommit = True
    differences = schema_differences(before, changed)
    assert differences, f"{change} went unnoticed"
    assert any(line.startswith(kind + ":") for line in differences), differences
    assert schema_differences(before, schema_snapshot(conn)) == [], "the rollback left a change"
    conn.close()
