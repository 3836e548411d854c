"""The SQLite file behind all durable state: one connection, short write transactions.

Settings, and why:
- `journal_mode=WAL`: readers never block the writer; another process can read while we write.
- `synchronous=FULL`: every commit is fsynced to the WAL before the bot acts on it. An approval
  acknowledged in Slack, or session ids returned by ImmyBot, must survive a power cut, not only a
  process crash (NORMAL in WAL may lose the last commits on power loss). Traffic is human-paced,
  so the fsync per decision costs nothing that matters.
- `foreign_keys=ON`, `busy_timeout=5000` ms, plus a bounded retry of `BEGIN IMMEDIATE` when
  another process holds the write lock past the busy timeout.

Every write goes through `Store.write()`: an asyncio lock (one transaction at a time on this
connection) and `BEGIN IMMEDIATE`, which takes SQLite's write lock before the first read, so a
read-then-write can never interleave with another handler or another process.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

import aiosqlite

from bot.retry import RetryPolicy, retry_call
from bot.store.audit import ChainHead
from bot.store.migrations import LATEST_VERSION, migrate
from bot.store.tx import Tx

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
BEGIN_RETRIES = 5
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
)


def _locked(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


async def connect(path: Path | str, *, migrate_to: int | None = LATEST_VERSION) -> aiosqlite.Connection:
    """Open the file with the house pragmas (autocommit mode) and bring its schema up to date."""
    conn = await open_connection(str(path), isolation_level=None)
    try:
        for pragma in PRAGMAS:
            await _with_retry(lambda pragma=pragma: conn.execute(pragma))
        if migrate_to is not None:
            await migrate(conn, migrate_to)
    except BaseException:
        await conn.close()
        raise
    return conn


async def open_connection(database: str, **kwargs: Any) -> aiosqlite.Connection:
    """`aiosqlite.connect`, but a failed open waits for aiosqlite's worker thread to finish
    (otherwise it reports to the event loop later, possibly after the loop has closed)."""
    pending = aiosqlite.connect(database, **kwargs)
    try:
        return await pending
    except BaseException:
        thread = getattr(pending, "_thread", None)
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, 2)
        raise


_BEGIN_RETRY = RetryPolicy(attempts=BEGIN_RETRIES, base_seconds=0.05, cap_seconds=0.05 * 2**BEGIN_RETRIES,
                           max_retry_after=None, jitter=False)


async def _with_retry(start: Callable[[], Awaitable[object]]) -> None:
    def retrying(attempt: int, error: BaseException, wait: float) -> None:
        log.warning("database locked by another process; retrying", extra={"attempt": attempt})

    await retry_call(start, _BEGIN_RETRY, on_retry=retrying,
                     retry_if=lambda error: isinstance(error, sqlite3.OperationalError) and _locked(error))


class Store:
    """Durable state. Open with `await Store.open(path)`; use `write()` / `read()` transactions."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._head = ChainHead()
        self.path = path

    @classmethod
    async def open(cls, path: Path | str) -> Self:
        path = Path(path)
        return cls(await connect(path), path)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """`BEGIN IMMEDIATE` … `COMMIT`; rolled back if the block raises."""
        async with self._lock:
            try:
                await _with_retry(lambda: self._conn.execute("BEGIN IMMEDIATE"))
            except BaseException:
                # Cancelled (or failed) while BEGIN sat on aiosqlite's worker thread: it may still
                # run there. The worker is FIFO, so a ROLLBACK queued now undoes it, and the next
                # writer never meets "cannot start a transaction within a transaction".
                await asyncio.shield(self._abandon())
                raise
            try:
                yield Tx(self._conn, self._head)
            except BaseException:
                await asyncio.shield(self._abandon())
                raise
            try:
                await self._conn.execute("COMMIT")
            except BaseException:
                await asyncio.shield(self._abandon())
                raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A consistent snapshot for reads (never sees another handler's uncommitted writes)."""
        async with self._lock:
            try:
                await self._conn.execute("BEGIN")
            except BaseException:  # cancelled while BEGIN sat on the worker thread: undo it, as write() does
                await asyncio.shield(self._abandon())
                raise
            try:
                yield Tx(self._conn)
            finally:
                await self._rollback()

    async def _abandon(self) -> None:
        """ROLLBACK whatever this connection may have open, queued behind any statement in flight."""
        try:
            await self._conn.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # no transaction was active: nothing to undo
        except sqlite3.Error:  # pragma: no cover - connection already gone
            log.exception("rollback failed")

    async def _rollback(self) -> None:
        if self._conn.in_transaction:
            try:
                await self._conn.execute("ROLLBACK")
            except sqlite3.Error:  # pragma: no cover - connection already gone
                log.exception("rollback failed")

    async def schema_version(self) -> int:
        from bot.store.migrations import current_version

        async with self._lock:
            return await current_version(self._conn)

    async def pragma(self, name: str) -> object:
        async with self._lock, self._conn.execute(f"PRAGMA {name}") as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None


__all__ = ["LATEST_VERSION", "Store", "Tx", "connect"]
