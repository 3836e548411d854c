"""`audit export`: field sets for CSV and JSONL, filters, and the real CLI in a subprocess."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.audit import FIELDS, verify_rows
from bot.store.audit_cli import export, open_readonly, write_export
from tests.conftest import REPO
from tests.hostile_csv import HOSTILE_CELLS, read_csv
from tests.store.backends import Backend, adapter_only
from tests.workflow.factories import APPROVER, Clock, make_draft

pytestmark = adapter_only  # `audit export` reads the database itself


async def _db(tmp_path: Path, backend: Backend | None = None) -> Path:
    db = tmp_path / "audit.db"
    backend = backend or Backend("sqlite", str(db))
    clock = Clock()
    service, store = await backend.service(clock)
    first = await service.submit(make_draft(email="ana@example.com"))  # rows 1-2 on Jan 15
    await service.deny(first.id, APPROVER, 'not this week, "sorry"')
    clock.advance(days=2)
    second = await service.submit(make_draft(reason='line one\r\nline "two", ✓'))  # rows 3-4 on Jan 17
    await service.approve(second.id, APPROVER)
    await store.close()
    return db


async def _export(db: Path, fmt: str, **filters: object) -> str:
    out = io.StringIO()
    conn = await open_readonly(db)
    try:
        await write_export(conn, out, fmt, batch=3, **filters)  # type: ignore[arg-type]
    finally:
        await conn.close()
    return out.getvalue()


async def test_jsonl_rows_are_spec_shaped_and_verify(tmp_path: Path, backend: Backend) -> None:
    await _db(tmp_path, backend)
    rows = [json.loads(line) for line in (await backend.export("jsonl")).splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    assert all(list(r) == list(FIELDS) for r in rows)
    assert rows[0]["targets"][-1] == {"email": "ana@example.com"}
    assert rows[1]["decision_reason"] == 'not this week, "sorry"' and rows[1]["event"] == "request.denied"
    assert rows[0]["request_id"] == 1 and rows[0]["immybot_session_ids"] is None
    assert verify_rows(rows).ok  # an export can be re-verified on its own


async def test_csv_header_and_nested_json(tmp_path: Path, backend: Backend) -> None:
    await _db(tmp_path, backend)
    reader = csv.DictReader(io.StringIO(await backend.export("csv")))
    assert tuple(reader.fieldnames or ()) == FIELDS
    rows = list(reader)
    assert len(rows) == 4
    assert json.loads(rows[0]["software"]) == {"name": "7-Zip", "id": 714, "catalog": "Global"}
    assert json.loads(rows[0]["targets"])[0] == {"id": 1, "name": "PC-1"}
    assert rows[0]["decision_reason"] == ""  # null
    as_json = [json.loads(line) for line in (await backend.export("jsonl")).splitlines()]
    for csv_row, json_row in zip(rows, as_json, strict=True):  # the same values, nested ones as JSON text
        for name in FIELDS:
            value = json_row[name]
            expected = "" if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            expected = expected if isinstance(value, (dict, list)) else ("" if value is None else str(value))
            assert csv_row[name] == expected, name
    assert rows[2]["reason"] == 'line one\r\nline "two", ✓'


async def test_filters(tmp_path: Path, backend: Backend) -> None:
    await _db(tmp_path, backend)
    since = "2026-01-16T00:00:00+00:00"
    from bot.store.audit import parse_since

    export_ = backend.export
    assert [json.loads(x)["id"] for x in (await export_("jsonl", since=parse_since(since))).splitlines()] == [3, 4]
    assert [json.loads(x)["id"] for x in (await export_("jsonl", request_id=1)).splitlines()] == [1, 2]
    assert await export_("jsonl", request_id=1, since=parse_since("2026-01-16")) == ""


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "audit", *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def _cli_bytes(*args: str) -> bytes:
    """stdout as bytes: no newline translation, so a CR in a cell is seen as written."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "audit", *args], cwd=REPO, capture_output=True, timeout=60, check=True
    ).stdout


async def test_real_cli_export_and_verify(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    out = _cli("export", "--format", "jsonl", "--since", "2026-01-16", "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["id"] for line in out.stdout.splitlines()] == [3, 4]
    out = _cli("export", "--format", "csv", "--request", "2", "--db", str(db))
    assert out.returncode == 0 and out.stdout.splitlines()[0] == ",".join(FIELDS)
    assert [r["id"] for r in csv.DictReader(io.StringIO(out.stdout))] == ["3", "4"]
    out = _cli("verify", "--offline", "--db", str(db))
    assert (out.returncode, out.stdout.splitlines()[0]) == (0, "OK: 4 rows")


async def test_cli_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    db = await _db(tmp_path)
    assert await export("jsonl", "last tuesday", None, str(db)) == 2
    assert "--since" in capsys.readouterr().err
    assert await export("jsonl", None, None, str(tmp_path / "missing.db")) == 1
    assert not (tmp_path / "missing.db").exists()  # export never creates a database
    monkeypatch.setenv("AUDIT_DB", str(db))
    assert await export("jsonl", None, 2, None) == 0  # default path comes from AUDIT_DB
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_bare_csv_fields_refuse_separators() -> None:
    from datetime import UTC, datetime

    from bot.store.audit import GENESIS_HASH, AuditEntry, build_row

    for entry in (AuditEntry(event="request.created", actor='U1,"x"'), AuditEntry(event="a\nb")):
        with pytest.raises(ValueError, match="may not contain"):
            build_row(entry, 1, datetime.now(UTC), GENESIS_HASH)


async def _hostile_db(tmp_path: Path, backend: Backend | None = None) -> Path:
    db = tmp_path / "hostile.db"
    backend = backend or Backend("sqlite", str(db))
    service, store = await backend.service(Clock())
    for typed, _ in HOSTILE_CELLS:
        await service.submit(make_draft(reason=typed))
    await store.close()
    return db


async def test_csv_cells_are_defused_and_jsonl_stays_exact(tmp_path: Path, backend: Backend) -> None:
    await _hostile_db(tmp_path, backend)
    target = backend.target
    rows = read_csv(await backend.export("csv"))
    assert [r["reason"] for r in rows] == [shown for _, shown in HOSTILE_CELLS]  # one row each, none merged
    assert [r["id"] for r in rows] == [str(i) for i in range(1, len(HOSTILE_CELLS) + 1)]
    exact = [json.loads(line) for line in (await backend.export("jsonl")).splitlines()]
    assert [r["reason"] for r in exact] == [typed for typed, _ in HOSTILE_CELLS]
    assert verify_rows(exact).ok
    stdout = _cli_bytes("export", "--format", "csv", "--db", target)  # the real command
    assert [r["reason"] for r in read_csv(stdout.decode())] == [shown for _, shown in HOSTILE_CELLS]


async def test_real_cli_over_database_url(tmp_path: Path, backend: Backend) -> None:
    """`audit export` and `audit verify` take DATABASE_URL like the bot (and a postgresql:// --db)."""
    await _db(tmp_path, backend)
    env = (
        {**os.environ, "DATABASE_URL": backend.target} if backend.is_pg else {**os.environ, "AUDIT_DB": backend.target}
    )
    run = functools.partial(subprocess.run, cwd=REPO, capture_output=True, text=True, timeout=60, env=env)
    out = run([sys.executable, "-m", "bot", "audit", "export", "--format", "jsonl", "--request", "2"])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [3, 4]
    assert lines == (await backend.export("jsonl", request_id=2)).splitlines()
    out = run([sys.executable, "-m", "bot", "audit", "verify", "--offline"])
    assert (out.returncode, out.stdout.splitlines()[0]) == (0, "OK: 4 rows")
