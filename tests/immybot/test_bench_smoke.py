"""The catalog search benchmark runs end to end at a tiny size and prints one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.bench  # a benchmark script run in a subprocess: `pytest -m 'not bench'` skips it


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


def test_ranking_bench_smoke() -> None:
    out = subprocess.run([sys.executable, "bench/ranking.py", "--small", "--fragments", "30"],
                         cwd=REPO, capture_output=True, text=True, timeout=180)  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    for method in ("bot", "substring", "wratio"):
        figures = result[method]["overall"]
        assert figures["queries"] > 100 and 0 <= figures["top1"] <= figures["top5"] <= 1 and 0 <= figures["mrr"] <= 1
    assert set(result["bot"]["software"]["by_kind"]) == {"exact", "prefix", "any_order", "punctuation", "typo"}
    assert result["non_matching"]["bot"]["options"] >= 0 and "ok" in result


def test_catalog_load_bench_smoke() -> None:
    out = subprocess.run([sys.executable, "bench/catalog_load.py", "--scale", "100", "--latency", "0.02"],
                         cwd=REPO, capture_output=True, text=True, timeout=180)  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    bot, floor = result["bot"], result["httpx"]
    assert bot["sizes"] == {"global_software": 201, "local_software": 20, "computers": 500}
    assert floor["computers"] == 500 and floor["full_s"] > 0
    assert 0 < bot["first_software_s"] <= bot["full_s"] and bot["peak_rss_mb"] >= bot["settled_rss_mb"] > 0
    assert "full_ratio_to_httpx" in result and "ok" in result
