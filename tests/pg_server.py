"""A throwaway PostgreSQL server for the tests, started by the tests themselves.

Debian's server binaries (`/usr/lib/postgresql/*/bin`, package `postgresql`, which `.ci/run`
installs) run as the `postgres` user (the server refuses root) on a free loopback port, in a temp
data dir, with fsync off (a crash loses nothing a test needs). Each test gets a fresh database copied
from a template. Where no binaries exist the tests skip with the reason; with `CI` set they fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import pytest

_SUPERUSER = "postgres"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args  # already an unprivileged user: run as ourselves
    return ["runuser", "-u", _SUPERUSER, "--", *args]


@dataclass
class PgServer:
    port: int
    data: Path
    bin_dir: Path
    _names: Iterator[int] = field(default_factory=lambda: count(1))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.url(database),
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(done.stderr.strip())
        return done.stdout.strip()

    def fresh_database(self) -> str:
        """A new empty database (copied from the idle template: far cheaper than initdb per test)."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def start_server() -> tuple[PgServer | None, str]:
    """Start a server; (None, reason) when this machine has no PostgreSQL server binaries."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        return None, "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(_SUPERUSER)
        except KeyError:
            return None, "running as root and there is no 'postgres' user to run the server as"
    root = Path(tempfile.mkdtemp(prefix="immybot-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_SUPERUSER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    subprocess.run(
        _as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", _SUPERUSER, "-A", "trust", "-E", "UTF8",
                         "--no-locale", "--no-sync"]),
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off " \
              "-c full_page_writes=off -c max_connections=200"  # fmt: skip
    subprocess.run(
        _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w",
                         "-t", "60", "start"]),
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    return PgServer(port, data, bin_dir), ""


def stop_server(server: PgServer) -> None:
    subprocess.run(
        _as_server_user([str(server.bin_dir / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "stop"]),
        check=False, capture_output=True, cwd=server.data.parent,
    )  # fmt: skip
    shutil.rmtree(server.data.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server, reason = start_server()
    if server is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but PostgreSQL cannot be started: {reason}")
        pytest.skip(reason)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    url = pg_server.fresh_database()
    yield url
    pg_server.drop(url)
