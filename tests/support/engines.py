"""Real engines for the warehouse tests: a throwaway PostgreSQL server and a local Spark session.

PostgreSQL: ``initdb`` in a temporary folder as an unprivileged user (``postgres`` or
``nobody`` when the tests run as root), listening on 127.0.0.1 only, on a free port, with
a password-protected role. Tests skip when the binaries are missing on a developer
machine; with ``DE_AGENT_REQUIRE_ENGINES=1`` (set by ``.ci/run``) a missing engine fails.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "s3cret-Pg-pass-7731"
PASSWORD_ENV = "DE_TEST_PG_PASSWORD"


def require_engine(what: str) -> None:
    """Skip (on a developer machine) or fail (in CI) because an engine is missing."""
    if os.environ.get("DE_AGENT_REQUIRE_ENGINES") == "1":
        pytest.fail(f"{what} is required in CI (DE_AGENT_REQUIRE_ENGINES=1) but is not available")
    pytest.skip(f"{what} is not installed on this machine")


def pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    folder: Path

    def dsn(self, dbname: str | None = None) -> str:
        return (f"host={self.host} port={self.port} user={self.user} password={self.password} "
                f"dbname={dbname or self.dbname}")

    def url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def start_postgres() -> tuple[Postgres, callable]:
    bindir = pg_bin()
    if bindir is None:
        require_engine("PostgreSQL (initdb)")
    user = None
    if os.geteuid() == 0:
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
                user = name
                break
            except KeyError:
                continue
    folder = Path(tempfile.mkdtemp(prefix="de-agent-pg-"))
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if user:
        info = pwd.getpwnam(user)
        os.chown(folder, info.pw_uid, info.pw_gid)
        os.chown(pwfile, info.pw_uid, info.pw_gid)
    data = folder / "data"
    subprocess.run(_as_user([str(bindir / "initdb"), "-D", str(data), "-U", "de_admin", "--auth=scram-sha-256",
                             f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C"], user),
                   check=True, capture_output=True, cwd=folder)
    port = _free_port()
    opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40")
    subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60",
                             "-o", opts, "start"], user), check=True, capture_output=True, cwd=folder)

    def stop() -> None:
        subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], user),
                       capture_output=True, cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)

    return Postgres("127.0.0.1", port, "de_admin", PASSWORD, "analytics", folder), stop


SEED = """
CREATE TABLE customers (id int PRIMARY KEY, name text, email text, country text, signup date);
INSERT INTO customers SELECT g, 'Customer ' || g, 'user' || g || '@example.com',
    (ARRAY['NL','DE','FR','US'])[1 + g % 4], DATE '2024-01-01' + (g % 365)
  FROM generate_series(1, 5000) g;
CREATE TABLE orders (id bigint, customer_id int, amount numeric(10,2), status text, day date)
  PARTITION BY RANGE (day);
CREATE TABLE orders_2024 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO orders SELECT g, 1 + g % 5000, (g % 997) / 10.0, (ARRAY['paid','open','refunded'])[1 + g % 3],
    DATE '2024-01-01' + (g % 366) FROM generate_series(1, 20000) g;
CREATE SCHEMA staging;
CREATE TABLE staging.stg_events (event_id int, kind text);
INSERT INTO staging.stg_events SELECT g, 'click' FROM generate_series(1, 100) g;
CREATE TABLE scratch (n int);
ANALYZE;
"""


def seed(pg: Postgres) -> None:
    import psycopg

    with psycopg.connect(pg.dsn("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE analytics")
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(SEED)


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the whole test session, seeded with a small analytics database."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        require_engine("psycopg (pip install -e '.[test,postgres]')")
    pg, stop = start_postgres()
    try:
        seed(pg)
        yield pg
    finally:
        stop()
