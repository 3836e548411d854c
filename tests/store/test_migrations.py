"""Forward-only migrations: from an empty file and from every earlier version, data kept."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import psycopg
import pytest

from bot.store import Store
from bot.store.audit_cli import verify_file
from bot.store.migrations import LATEST_VERSION, MIGRATIONS, current_version
from bot.store.pg import PgStore
from bot.store.pg import schema as pg_schema
from bot.store.pg.audit_cli import verify_url
from bot.store.store import connect
from bot.workflow.service import RequestService
from tests.workflow.factories import APPROVER, make_draft, make_policy, make_service


async def test_empty_file_gets_latest_schema_and_pragmas(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    db.touch()
    store = await Store.open(db)
    try:
        assert await store.schema_version() == LATEST_VERSION == len(MIGRATIONS)
        assert await store.pragma("journal_mode") == "wal"
        assert await store.pragma("foreign_keys") == 1
        assert await store.pragma("synchronous") == 2  # FULL
        assert await store.pragma("busy_timeout") == 5000
    finally:
        await store.close()
    conn = sqlite3.connect(db)
    versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    conn.close()
    assert versions == list(range(1, LATEST_VERSION + 1))
    assert {"requests", "sessions", "dedup", "audit", "audit_no_update", "audit_no_delete"} <= tables


@pytest.mark.parametrize("start", range(1, LATEST_VERSION))
async def test_upgrade_from_each_earlier_version(tmp_path: Path, start: int) -> None:
    db = tmp_path / "old.db"
    conn = await connect(db, migrate_to=start)
    assert await current_version(conn) == start
    # data written by that version: a request and its audit row, as the v1 tables hold them
    await conn.execute(
        "INSERT INTO requests (state, requester, created_at, updated_at, data) VALUES ('pending', ?, ?, ?, ?)",
        ("UOLD", "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z", _old_request_json()),
    )
    await conn.close()
    service, store = await make_service(db)
    try:
        assert await store.schema_version() == LATEST_VERSION
        old = await service.get(1)
        assert old.requester == "UOLD"
        assert (await service.approve(1, APPROVER)).state.value == "approved"
        await service.submit(make_draft())
    finally:
        await store.close()
    assert (await verify_file(db)).ok


async def test_reopen_is_a_no_op_and_newer_schema_refused(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    for _ in range(2):
        store = await Store.open(db)
        await store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == LATEST_VERSION
    conn.execute("INSERT INTO schema_migrations VALUES (?, 'future')", (LATEST_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this bot"):
        await Store.open(db)


def _old_request_json() -> str:
    from datetime import UTC, datetime

    from bot.workflow.model import Request

    draft = make_draft(requester="UOLD")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    request = Request(id=1, created_at=at, updated_at=at, **draft.model_dump())
    return request.model_dump_json(exclude={"id", "state", "sessions"})


# ---- PostgreSQL ---------------------------------------------------------------------------------


async def test_pg_empty_database_gets_latest_schema(pg_url: str) -> None:
    store = await PgStore.open(pg_url)
    try:
        assert await store.schema_version() == pg_schema.LATEST_VERSION == len(pg_schema.MIGRATIONS)
    finally:
        await store.close()
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cursor = await conn.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [v for (v,) in await cursor.fetchall()] == list(range(1, pg_schema.LATEST_VERSION + 1))
        cursor = await conn.execute("SELECT id, hash FROM audit_head")
        assert await cursor.fetchall() == [(0, "0" * 64)]


async def test_pg_replicas_starting_together_migrate_once(pg_url: str) -> None:
    """Four replicas open an empty database at the same moment: each step is applied exactly once."""
    stores = await asyncio.gather(*(PgStore.open(pg_url, max_size=2) for _ in range(4)))
    try:
        assert {await s.schema_version() for s in stores} == {pg_schema.LATEST_VERSION}
        async with stores[0].read() as tx:
            cursor = await tx.conn.execute("SELECT COUNT(*) FROM schema_migrations")
            assert (await cursor.fetchone()) == (pg_schema.LATEST_VERSION,)
    finally:
        await asyncio.gather(*(s.close() for s in stores))


@pytest.mark.parametrize("start", range(1, pg_schema.LATEST_VERSION))
async def test_pg_upgrade_from_each_earlier_version(pg_url: str, start: int) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        assert await pg_schema.migrate(conn, start) == start
        await conn.execute(
            "INSERT INTO requests (state, requester, created_at, updated_at, data) VALUES ('pending', %s, %s, %s, %s)",
            ("UOLD", "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z", _old_request_json()),
        )
    store = await PgStore.open(pg_url)
    try:
        service = RequestService(store, make_policy())  # type: ignore[arg-type]
        assert await store.schema_version() == pg_schema.LATEST_VERSION
        assert (await service.get(1)).requester == "UOLD"
        assert (await service.approve(1, APPROVER)).state.value == "approved"
        await service.submit(make_draft())
    finally:
        await store.close()
    assert (await verify_url(pg_url)).ok


async def test_pg_newer_schema_refused(pg_url: str) -> None:
    store = await PgStore.open(pg_url)
    await store.close()
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute("INSERT INTO schema_migrations VALUES (%s, 'future')", (pg_schema.LATEST_VERSION + 1,))
    with pytest.raises(RuntimeError, match="newer than this bot"):
        await PgStore.open(pg_url)
