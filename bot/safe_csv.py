"""The one CSV writer: every CSV the bot writes (audit export, `/immy audit`, a summary's file) is
written here, by Python's `csv` module, with every cell defused for spreadsheets (SPEC §5).

- A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a
  spreadsheet shows it as text and never runs it as a formula.
- A NUL or any other control character (C0 but tab, LF and CR; DEL; C1) is written as its JSON
  escape (`\\u0000`): no tool that stops at a NUL can cut or merge rows, and nothing invisible hides
  in a cell. Line breaks and quotes stay; `csv` quotes the cell, so the row stays one row.

A neutral module (it imports nothing from `bot`), so the Slack adapter and the store may both use it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe_cell(value: object) -> str:
    """One cell's text: None is empty, anything else its `str`, defused."""
    if value is None:
        return ""
    text = value if value.__class__ is str else str(value)  # most cells are str: no copy
    if not text.isprintable():
        text = _CONTROL.sub(_json_escape, text)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text


class SafeCsvWriter:
    """`csv.writer` (RFC 4180: CRLF line ends) whose every cell goes through `safe_cell`."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out)  # CRLF line ends: then `csv` quotes a cell holding a lone CR too

    def row(self, cells: Iterable[object]) -> None:
        self._writer.writerow(map(safe_cell, cells))

    def rows(self, rows: Iterable[Iterable[object]]) -> None:
        self._writer.writerows(map(safe_cell, cells) for cells in rows)


def csv_text(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """A whole CSV document (header row first) as text: for files attached in Slack."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.row(header)
    writer.rows(rows)
    return out.getvalue()
