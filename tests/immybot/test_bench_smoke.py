"""The catalog search benchmark runs end to end at a tiny size and prints one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_catalog_search_bench_smoke() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "bench/catalog_search.py",
            "--small",
            "--global-software",
            "3000",
            "--local-software",
            "300",
            "--computers",
            "2000",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["computers"] == 200 and result["global_software"] == 300
    assert result["software_p99_ms"] > 0 and result["reference_computers_p99_ms"] > 0
    assert result["cache_mb"] > 0 and "software_p99_ratio" in result
