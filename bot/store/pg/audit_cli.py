"""`audit export` / `audit verify` over PostgreSQL: one connection, a read-only snapshot, a server-side
cursor, memory flat however long the log. CSV goes through the one CSV writer (`bot.safe_csv`); JSONL
lines are byte-for-byte what the SQLite export prints."""

from __future__ import annotations

import io
from collections.abc import Iterable
from contextlib import aclosing
from typing import TextIO
from urllib.parse import urlsplit

from psycopg import AsyncConnection

from bot.safe_csv import SafeCsvWriter
from bot.store import audit
from bot.store.audit import FIELDS, ChainReport
from bot.store.pg import audit as pg_audit

PG_SCHEMES = ("postgresql", "postgres")


def is_pg_url(text: str | None) -> bool:
    return bool(text) and urlsplit(str(text)).scheme in PG_SCHEMES


def safe_url(url: str) -> str:
    """The URL for messages: the password replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def one_line(error: BaseException) -> str:
    """A driver error as one line (libpq's messages span several)."""
    return " ".join(str(error).split())


async def connect(url: str) -> AsyncConnection:
    return await AsyncConnection.connect(url, autocommit=True, prepare_threshold=None, connect_timeout=15)


def _flush(buffer: io.StringIO, out: TextIO) -> None:
    out.write(buffer.getvalue())
    buffer.seek(0)
    buffer.truncate()


async def write_export(
    conn: AsyncConnection,
    out: TextIO,
    fmt: str,
    *,
    since: str | None = None,
    request_id: int | None = None,
    batch: int = audit.BATCH,
) -> int:
    """Stream matching rows to `out` as `jsonl` or `csv`; return how many were written."""
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"unknown format {fmt!r}")
    where, params = pg_audit.pg_where(since=since, request_id=request_id)
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer) if fmt == "csv" else None
    if writer is not None:
        writer.row(FIELDS)
        _flush(buffer, out)
    count = 0
    select = f"SELECT {audit.COLUMNS} FROM audit{where} ORDER BY id"
    async with aclosing(pg_audit.iter_batches(conn, select, params, batch)) as batches:
        async for rows in batches:
            if writer is not None:
                writer.rows(map(pg_audit.csv_cells, rows))
                _flush(buffer, out)
            else:
                out.write("\n".join(pg_audit.jsonl_line(row) for row in rows))
                out.write("\n")
            count += len(rows)
    return count


async def verify_url(url: str) -> ChainReport:
    conn = await connect(url)
    try:
        return await pg_audit.verify_chain(conn)
    finally:
        await conn.close()


async def newest_row(url: str) -> int | None:
    conn = await connect(url)
    try:
        cursor = await conn.execute("SELECT MAX(id) FROM audit")
        found = await cursor.fetchone()
        return int(found[0]) if found and found[0] is not None else None
    finally:
        await conn.close()


async def hashes_of(url: str, rows: Iterable[int]) -> tuple[int | None, dict[int, str]]:
    """The newest row id, and the stored hash of each of `rows` that exists."""
    conn = await connect(url)
    try:
        cursor = await conn.execute("SELECT MAX(id) FROM audit")
        found = await cursor.fetchone()
        cursor = await conn.execute("SELECT id, hash FROM audit WHERE id = ANY(%s)", (list(rows),))
        return (found[0] if found else None), {int(i): str(h) for i, h in await cursor.fetchall()}
    finally:
        await conn.close()
