"""The audit benchmark runs end to end at a tiny size and prints one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.bench  # a benchmark script run in a subprocess: `pytest -m 'not bench'` skips it


def test_audit_bench_smoke(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "bench/audit.py", "--rows", "300", "--transitions", "20", "--dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["rows"] == 300 and result["audited_transitions_per_s"] > 0
    assert result["export_jsonl_rows_per_s"] > 0 and result["plain_select_rows_per_s"] > 0
