"""The replicas benchmark runs end to end at a tiny size and prints one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.pg_server import PgServer

pytestmark = pytest.mark.bench  # a benchmark script run in a subprocess: `pytest -m 'not bench'` skips it


def test_replicas_bench_smoke(pg_server: PgServer) -> None:  # the fixture: skipped only where no server starts
    out = subprocess.run(
        [sys.executable, "bench/replicas.py", "--transitions", "40", "--sessions", "20", "--lease", "0.3",
         "--rounds", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    for label in ("sqlite", "pg_1", "pg_2"):
        assert result[f"{label}_transitions_per_s"] > 0 and result[f"{label}_sessions_per_s"] > 0
    assert 0 < result["takeover_leases"]
