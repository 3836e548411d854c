"""`immybot-slack db copy`: SQLite → PostgreSQL → SQLite, everything kept, chain intact, work carries on."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.audit_cli import open_readonly, write_export
from bot.store.dbcopy import CopyError, Location, copy
from bot.store.pg import PgStore
from bot.workflow.model import RequestState, SessionInfo
from bot.workflow.service import RequestService
from tests.conftest import REPO
from tests.hostile_csv import HOSTILE_CELLS
from tests.pg_server import PgServer
from tests.store.backends import Backend
from tests.workflow.factories import APPROVER, Clock, make_draft, make_policy

LEASE = timedelta(seconds=30)


async def _state(db: Path) -> tuple[int, int]:
    """A small install's life: a decided request with a session in flight, a pending one, hostile text."""
    store = await Store.open(db)
    service = RequestService(store, make_policy(), clock=Clock())
    running = await service.submit(make_draft())
    await service.approve(running.id, APPROVER)
    async with store.write() as tx:
        await tx.add_sessions(running.id, [SessionInfo(session_id=501, computer_id=1, status="Running")])
        await tx.dedup_put("slack:retry:abc", "done", Clock().now + timedelta(days=1))
    for typed, _ in HOSTILE_CELLS:
        await service.submit(make_draft(reason=typed))
    pending = await service.submit(make_draft())
    await store.close()
    return running.id, pending.id


async def _jsonl(backend: Backend) -> list[dict[str, object]]:
    return [json.loads(line) for line in (await backend.export("jsonl")).splitlines()]


async def test_round_trip_sqlite_postgresql_sqlite(tmp_path: Path, pg_url: str) -> None:
    first, back = tmp_path / "first.db", tmp_path / "back.db"
    running, pending = await _state(first)
    before = await _jsonl(Backend("sqlite", str(first)))

    counts = await copy(f"sqlite:///{first}", pg_url)
    assert counts.rows == {
        "requests": running + len(HOSTILE_CELLS) + 1,
        "sessions": 1,
        "dedup": 2,  # the Slack retry key, and the approval's once-only announcement claim
        "audit": len(before),
    }
    assert await _jsonl(Backend("postgresql", pg_url)) == before  # rows and hashes as they were

    store = await PgStore.open(pg_url)
    try:  # the copy carries on: the session in flight is due for follow-up, the pending request decidable
        claims = await store.claim_due("replica-a", Clock().now, LEASE)
        assert [(c.request_id, c.session_id) for c in claims] == [(running, 501)]
        service = RequestService(store, make_policy(), clock=Clock())  # type: ignore[arg-type]
        assert (await service.approve(pending, APPROVER)).state is RequestState.APPROVED
        assert (await service.submit(make_draft())).id == pending + 1  # ids continue after the copied ones
        async with store.read() as tx:
            assert await tx.dedup_get("slack:retry:abc", Clock().now) == "done"
        after_pg = await service.audit_rows()
    finally:
        await store.close()

    await copy(pg_url, str(back))
    assert await _jsonl(Backend("sqlite", str(back))) == after_pg
    store2 = await Store.open(back)
    try:
        request = await RequestService(store2, make_policy()).get(running)
        assert [s.session_id for s in request.sessions] == [501]
    finally:
        await store2.close()


async def test_destination_must_be_empty_and_is_left_untouched(tmp_path: Path, pg_url: str) -> None:
    source, other = tmp_path / "a.db", tmp_path / "b.db"
    await _state(source)
    await _state(other)
    with pytest.raises(CopyError, match="not empty"):
        await copy(str(source), str(other))
    await copy(str(source), pg_url)
    with pytest.raises(CopyError, match="not empty"):
        await copy(str(other), pg_url)
    with pytest.raises(CopyError, match="same database"):
        await copy(str(source), f"sqlite:///{source}")
    with pytest.raises(CopyError, match="no SQLite database"):
        await copy(str(tmp_path / "missing.db"), str(tmp_path / "new.db"))
    assert Location.parse("sqlite:////var/lib/bot.db").path == Path("/var/lib/bot.db")
    assert Location.parse("postgresql://bot:s3cret@db/immy").text == "postgresql://bot:***@db/immy"


def test_real_cli(tmp_path: Path, pg_server: PgServer) -> None:
    source = tmp_path / "a.db"
    asyncio.run(_state(source))
    url = pg_server.fresh_database().replace("postgres@", "postgres:not-logged@")  # trust auth ignores it
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bot", "db", "copy", "--from", str(source), "--to", url],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "audit rows, chain intact" in out.stdout and "not-logged" not in out.stdout + out.stderr
        out = subprocess.run(
            [sys.executable, "-m", "bot", "db", "copy", "--from", str(source), "--to", url],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 1 and "not empty" in out.stderr and "not-logged" not in out.stderr
        assert out.stderr.count("\n") == 1
    finally:
        pg_server.drop(url)


async def test_exports_match_across_backends(tmp_path: Path, pg_url: str) -> None:
    """The CSV export of a copy is byte for byte the original's (the one CSV writer on both)."""
    source = tmp_path / "a.db"
    await _state(source)
    await copy(str(source), pg_url)
    conn = await open_readonly(source)
    try:
        import io

        original = io.StringIO()
        await write_export(conn, original, "csv")
    finally:
        await conn.close()
    assert await Backend("postgresql", pg_url).export("csv") == original.getvalue()
