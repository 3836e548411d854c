"""The one CSV writer's cell rule (SPEC §5); its use in all three CSVs is tested where each is written."""

from __future__ import annotations

from bot.safe_csv import csv_text, safe_cell
from tests.hostile_csv import HOSTILE_CELLS, read_csv


def test_cells() -> None:
    assert [safe_cell(typed) for typed, _ in HOSTILE_CELLS] == [shown for _, shown in HOSTILE_CELLS]
    values = (None, "", 42, -5, False)
    assert [safe_cell(v) for v in values] == ["", "", "42", "'-5", "False"]
    assert safe_cell("\x00=1") == "\\u0000=1" and safe_cell("ok ✓ é\u200b") == "ok ✓ é\u200b"


def test_one_row_per_record() -> None:
    text = csv_text(("a", "b"), [(typed, i) for i, (typed, _) in enumerate(HOSTILE_CELLS)])
    rows = read_csv(text)
    assert [(r["a"], r["b"]) for r in rows] == [(shown, str(i)) for i, (_, shown) in enumerate(HOSTILE_CELLS)]
    assert "\x00" not in text
