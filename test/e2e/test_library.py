"""End-to-end: the installed jabclnd.so exports PostgreSQL's entry points and nothing else.

PostgreSQL loads extension libraries with RTLD_GLOBAL: any other name in the
dynamic symbol table (an internal function such as a libstrophe callback, a
settings variable, a C++ template instance) could bind to a symbol of the
server or of another extension, or be bound by theirs.
"""
import os
import subprocess

EXPECTED = {
    "Pg_magic_func", "_PG_init", "jabclnd_worker_main",
    "jabclnd_wake_at_commit", "pg_finfo_jabclnd_wake_at_commit",
    "jabclnd_wake", "pg_finfo_jabclnd_wake",
    "jabclnd_worker_status", "pg_finfo_jabclnd_worker_status",
    "jabclnd_worker_rooms", "pg_finfo_jabclnd_worker_rooms",
    "jabclnd_worker_metrics", "pg_finfo_jabclnd_worker_metrics",
    "jabclnd_failures", "pg_finfo_jabclnd_failures",
}


def installed_library():
    pg_config = os.path.join(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"), "pg_config")
    libdir = subprocess.run([pg_config, "--pkglibdir"], check=True, capture_output=True,
                            text=True).stdout.strip()
    return os.path.join(libdir, "jabclnd.so")


def test_only_postgresql_entry_points_are_exported():
    out = subprocess.run(["nm", "-D", "--defined-only", installed_library()], check=True,
                         capture_output=True, text=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert exported - EXPECTED == set(), f"exported beyond the entry points: {sorted(exported - EXPECTED)[:20]}"
    assert EXPECTED - exported == set(), f"entry points missing: {sorted(EXPECTED - exported)}"
