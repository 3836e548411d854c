"""Smoke test of bench/policy_scope.py: runs end to end (the filter agrees with the reference) and prints one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench  # a benchmark script run in a subprocess: `pytest -m 'not bench'` skips it

REPO = Path(__file__).resolve().parents[1]


def test_policy_scope_benchmark_prints_one_json_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "policy_scope.py"), "--small", "--repeat", "2"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["scopes"] == 20 and 0 < figures["computers_in_scope"] < figures["computers"]
    assert figures["ratio"] > 0
