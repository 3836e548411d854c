"""Smoke test of bench/typeahead.py: it runs end to end and prints one JSON line with its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench  # a benchmark script run in a subprocess: `pytest -m 'not bench'` skips it

REPO = Path(__file__).resolve().parents[1]


def test_typeahead_benchmark_prints_one_json_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "typeahead.py"), "--scale", "100", "--policy"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    for key in ("software", "computers", "views_open"):
        assert figures[key]["p99_ratio"] > 0
    assert figures["rss_mb_after_catalog"] > 0 and "goals" in figures
    assert figures["goals"]["answers_correct"], figures
    assert figures["layout"].startswith("bot and floor")
    assert figures["options_per_answer"]["software"] > 0
    scoped = figures["computers_with_policy"]  # --policy: both bots against the floor in the same rounds
    assert scoped["scopes"] == 20 and 0 < scoped["computers_in_scope"] < figures["catalog"]["computers"]
    assert scoped["with_policy"]["bot"]["bad_answers"] == 0 and scoped["without_policy"]["p99_ratio"] > 0


def test_fragments_are_slices_of_real_names_and_the_check_is_honest() -> None:
    sys.path.insert(0, str(REPO / "bench"))
    import random

    from typeahead import answer_check, fragments

    names = ["CONTOSO-LT-0001", "Notepad++ x64", "Dell Command Update (Per-User)"]
    found = fragments(names, 300, random.Random(1))
    assert all(2 <= len(f) <= 5 and f == f.strip() and any(f in n.lower() for n in names) for f in found)
    assert "lt0" not in found  # the old generator dropped the punctuation: no name contains "lt0"
    check = answer_check(names)

    def option(text: str) -> dict:
        return {"text": {"type": "plain_text", "text": text}, "value": "1"}

    assert check("lt-0", [option("CONTOSO-LT-0001 · Contoso Ltd · online")])
    assert not check("lt-0", [])  # a name contains it: empty is wrong
    assert not check("lt-0", [option("Notepad++ x64 · Global")])  # found, but not first
    assert not check("lt0", [])  # punctuation does not matter (issue 16): CONTOSO-LT-0001 holds it
    assert check("qqz", [])  # nothing holds it: empty is right
    assert not check("lt-0", [option("CONTOSO-LT-0001 · Contoso Ltd · online"), option("Notepad++ x64 · Global")])
    assert not check("zz", [option("x")] * 101)
