"""bench/follower.py runs end to end at a tiny size and prints one JSON line with its figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.bench  # a benchmark script run in a subprocess: `pytest -m 'not bench'` skips it


def test_follower_bench_smoke() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "follower.py"), "--sessions", "30", "--duration", "1.5",
         "--poll-seconds", "0.3", "--idle-seconds", "0.5"],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=True,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    figures = json.loads(lines[0])
    assert figures["bench"] == "follower" and figures["in_flight"] == 30
    assert figures["immybot_calls_per_min"] > 0
    assert figures["goals"]["edits_ge_2s_apart"] and figures["goals"]["rss_le_150mb"]


def test_follower_bench_with_previews_smoke() -> None:
    """Previews off (the reference) then on, in one run: both figures and their ratios in one JSON line."""
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "follower.py"), "--sessions", "30", "--duration", "1.5",
         "--poll-seconds", "0.3", "--idle-seconds", "0.5", "--previews"],
        capture_output=True, text=True, timeout=240, cwd=REPO, check=True,
    )  # fmt: skip
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "follower_previews"
    assert figures["off"]["previews"] is False and figures["on"]["previews"] is True
    assert figures["on"]["all_reported"] and figures["on"]["immybot_calls_per_min_previewing"] > 0
    assert figures["ratios_on_vs_off"]["lag_p99_following_ms"] is not None
