"""The fast inner loop (`pytest -m "not bench"`, README → Tests) leaves out exactly the benchmark smoke tests:
every test module that runs a script from bench/ carries the `bench` marker."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
_RUNS_A_BENCH_SCRIPT = re.compile(r"""["']bench/\w+\.py["']|["']bench["']\s*/""")
_MARKED = re.compile(r"pytestmark\s*=\s*pytest\.mark\.bench\b|@pytest\.mark\.bench\b")


def test_every_bench_smoke_test_is_marked() -> None:
    running = [p for p in sorted(TESTS.rglob("*.py")) if p.name != Path(__file__).name
               and _RUNS_A_BENCH_SCRIPT.search(p.read_text())]
    assert len(running) >= 6, running  # the pattern still finds them
    unmarked = [str(p.relative_to(TESTS)) for p in running if not _MARKED.search(p.read_text())]
    assert unmarked == []
