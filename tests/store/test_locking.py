"""Another process holding the write lock: busy timeout, then a bounded retry of BEGIN IMMEDIATE."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.store import Store, store
from tests.store.backends import sqlite_only
from tests.workflow.factories import make_draft, make_service

pytestmark = sqlite_only  # SQLite's file lock and busy timeout; PostgreSQL has neither


def _hold_write_lock(db: Path, seconds: float, held: threading.Event) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    held.set()
    threading.Event().wait(seconds)
    conn.execute("ROLLBACK")
    conn.close()


async def _shorten_busy_timeout(st: Store, ms: int) -> None:
    async with st.read() as tx:
        pass
    await tx.conn.execute(f"PRAGMA busy_timeout={ms}")


async def test_write_waits_out_a_lock_held_by_another_connection(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    service, st = await make_service(db)
    try:
        await _shorten_busy_timeout(st, 20)  # so the retry path, not only the busy timeout, is exercised
        held = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(db, 0.3, held))
        holder.start()
        await asyncio.to_thread(held.wait, 5)
        request = await service.submit(make_draft())  # locked at first; retried until the holder lets go
        await asyncio.to_thread(holder.join, 5)
        assert request.id == 1
    finally:
        await st.close()


async def test_gives_up_after_bounded_retries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "a.db"
    service, st = await make_service(db)
    monkeypatch.setattr(store, "BEGIN_RETRIES", 2)
    try:
        await _shorten_busy_timeout(st, 10)
        held = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(db, 1.0, held))
        holder.start()
        await asyncio.to_thread(held.wait, 5)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await service.submit(make_draft())
        await asyncio.to_thread(holder.join, 5)
        assert (await service.submit(make_draft())).id == 1  # nothing half-written by the failed attempt
    finally:
        await st.close()


async def test_a_writer_cancelled_while_begin_waits_leaves_no_transaction_open(tmp_path: Path) -> None:
    """Shutdown cancels a handler whose BEGIN IMMEDIATE is still queued on aiosqlite's thread: the
    BEGIN runs later anyway, and must be undone so the next write starts cleanly."""
    db = tmp_path / "a.db"
    service, st = await make_service(db)
    try:
        await _shorten_busy_timeout(st, 300)  # BEGIN blocks inside SQLite while the holder has the lock
        held = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(db, 0.2, held))
        holder.start()
        await asyncio.to_thread(held.wait, 5)
        blocked = asyncio.create_task(service.submit(make_draft()))
        await asyncio.sleep(0.05)  # the BEGIN is now waiting on the worker thread
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        await asyncio.to_thread(holder.join, 5)
        request = await service.submit(make_draft())  # would fail: "cannot start a transaction within a transaction"
        assert request.id == 1
        assert not st._conn.in_transaction
    finally:
        await st.close()


async def test_a_reader_cancelled_while_begin_is_queued_leaves_no_transaction_open(tmp_path: Path) -> None:
    """The same for a read: a follower stopped while a read's BEGIN sits on aiosqlite's thread must not leave
    the connection inside a transaction (its successor's first read failed with "within a transaction")."""
    service, st = await make_service(tmp_path / "a.db")
    try:
        request = await service.submit(make_draft())
        for _ in range(20):
            reading = asyncio.create_task(service.get(request.id))
            await asyncio.sleep(0)  # the read now awaits its BEGIN on the worker thread
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
            assert (await service.get(request.id)).id == request.id
        assert not st._conn.in_transaction
    finally:
        await st.close()
