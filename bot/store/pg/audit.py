"""The audit chain on PostgreSQL: the same rows and hashes as `bot.store.audit`, one chain across replicas.

An append locks the single `audit_head` row (`SELECT … FOR UPDATE`) in the caller's transaction,
chains to it, inserts and moves the head: concurrent appends from any number of replicas queue on
that row lock, so the chain never forks. Reads stream through a server-side cursor.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from itertools import count
from typing import Any

from psycopg import AsyncConnection, pq

from bot.store import audit
from bot.store.audit import COLUMNS, FIELDS, JSON_FIELDS, AuditEntry, ChainChecker, ChainReport

# Free text a person typed may hold a NUL, which a PostgreSQL TEXT value cannot: these columns hold the
# value's JSON encoding (as the nested ones do), so every row reads back exactly as it was hashed.
TEXT_AS_JSON = frozenset({"reason", "decision_reason", "outcome"})
STORED_AS_JSON = JSON_FIELDS | TEXT_AS_JSON
INSERT_SQL = f"INSERT INTO audit ({COLUMNS}) VALUES ({', '.join('%s' for _ in FIELDS)})"
_cursor_names = count(1)


async def append(conn: AsyncConnection, entry: AuditEntry, at: datetime) -> dict[str, Any]:
    """Append one row inside the caller's transaction (the head row stays locked until it ends)."""
    cursor = await conn.execute("SELECT id, hash FROM audit_head FOR UPDATE")
    head = await cursor.fetchone()
    if head is None:  # pragma: no cover - migration 4 inserts it
        raise RuntimeError("audit_head row missing: the schema is damaged")
    row = audit.build_row(entry, int(head[0]) + 1, at, str(head[1]))
    # one round trip for both writes: the head row stays locked (every replica waits) for less time
    await conn.execute(f"WITH appended AS ({INSERT_SQL}) UPDATE audit_head SET id = %s, hash = %s",
                       (*pg_values(row), row["id"], row["hash"]))  # fmt: skip
    return row


def pg_values(row: dict[str, Any]) -> tuple[Any, ...]:
    """A SPEC-shaped row as PostgreSQL column values."""
    return tuple(
        (None if row[name] is None else audit.canonical_json(row[name])) if name in STORED_AS_JSON else row[name]
        for name in FIELDS
    )


def pg_decode(values: Iterable[Any]) -> dict[str, Any]:
    """Stored column values back into the SPEC-shaped row."""
    row = dict(zip(FIELDS, values, strict=True))
    for name in STORED_AS_JSON:
        if row[name] is not None:
            row[name] = json.loads(row[name])
    return row


def csv_cells(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Stored values as SQLite's export writes them: nested values as JSON text, free text as typed."""
    return tuple(
        json.loads(value) if name in TEXT_AS_JSON and value is not None else value
        for name, value in zip(FIELDS, values, strict=True)
    )


def pg_where(
    *, since: str | None = None, request_id: int | None = None, user: str | None = None
) -> tuple[str, list[Any]]:
    """`audit.where_clause` with PostgreSQL placeholders (the filters themselves are shared)."""
    where, params = audit.where_clause(since=since, request_id=request_id, user=user)
    return where.replace("?", "%s"), params


async def iter_batches(
    conn: AsyncConnection, select: str, params: Iterable[Any] = (), batch: int = audit.BATCH
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Stream a query through a server-side cursor, `batch` rows at a time (memory stays flat).

    Needs a transaction: inside one the caller opened, or a read-only one opened here."""
    if conn.info.transaction_status == pq.TransactionStatus.IDLE:  # open a read-only snapshot for the cursor
        async with conn.transaction():
            await conn.execute("SET TRANSACTION READ ONLY, ISOLATION LEVEL REPEATABLE READ")
            async for rows in _fetch(conn, select, params, batch):
                yield rows
    else:
        async for rows in _fetch(conn, select, params, batch):
            yield rows


async def _fetch(
    conn: AsyncConnection, select: str, params: Iterable[Any], batch: int
) -> AsyncIterator[list[tuple[Any, ...]]]:
    async with conn.cursor(name=f"audit_stream_{next(_cursor_names)}") as cursor:
        cursor.itersize = batch
        await cursor.execute(select, tuple(params))  # type: ignore[arg-type] - built from constants
        while rows := await cursor.fetchmany(batch):
            yield rows


async def verify_chain(conn: AsyncConnection) -> ChainReport:
    """Recompute the whole chain in id order, streaming; also checks the head row points at the end."""
    checker = ChainChecker()
    async for batch in iter_batches(conn, f"SELECT {COLUMNS} FROM audit ORDER BY id"):
        for values in batch:
            try:
                row = pg_decode(values)
            except (ValueError, TypeError):
                checker._fail(int(values[0]), f"row {values[0]}: unreadable nested JSON")
                return checker.result()
            if not checker.feed(row):
                return checker.result()
    cursor = await conn.execute("SELECT id, hash FROM audit_head")
    head = await cursor.fetchone()
    if head is not None and (int(head[0]), str(head[1])) != (checker.prev_id, checker.prev_hash):
        checker._fail(int(head[0]), f"chain head says row {head[0]} but the log ends at row {checker.prev_id}")
    return checker.result()


def jsonl_line(values: tuple[Any, ...]) -> str:
    """One row as `audit export --format jsonl` prints it on SQLite: FIELDS order, no spaces, UTF-8,
    nested values embedded as their stored canonical JSON."""
    parts = []
    for name, value in zip(FIELDS, values, strict=True):
        text = value if (name in STORED_AS_JSON and value is not None) else json.dumps(value, ensure_ascii=False)
        parts.append(f'"{name}":{text}')
    return "{" + ",".join(parts) + "}"
