"""Smoke test of bench/typeahead.py: it runs end to end and prints one JSON line with its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_typeahead_benchmark_prints_one_json_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "typeahead.py"), "--scale", "100"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    for key in ("software", "computers", "views_open"):
        assert figures[key]["p99_ratio"] > 0
    assert figures["rss_mb_after_catalog"] > 0 and "goals" in figures
