"""A throwaway PostgreSQL server for the benchmarks, with durable settings (fsync, synchronous_commit and
full_page_writes left on, as in production), unlike the test rig's fast-and-loose one."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pg_server import _SUPERUSER, PgServer, _as_server_user, _bin_dir, _free_port, stop_server


def durable_server() -> PgServer:
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_SUPERUSER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, port = root / "data", _free_port()
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", _SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale"]
    subprocess.run(_as_server_user(initdb), check=True, capture_output=True, cwd=root)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c max_connections=200"
    subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
                                    "-w", "-t", "60", "start"]), check=True, capture_output=True, cwd=root)  # fmt: skip
    return PgServer(port, data, bin_dir)


stop = stop_server
