"""`audit export` and `audit verify`: read-only, streaming, constant memory.

JSONL lines are built inside SQLite (`json_object`: exact, NUL included); CSV goes through the one
CSV writer (`bot.safe_csv`: Python's `csv`, cells defused for spreadsheets). Both stream one
`fetchmany` batch at a time: memory does not grow with the log.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable
from contextlib import aclosing
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

import aiosqlite
import psycopg
from pydantic import ValidationError

from bot.config import SettingsError, StoreSettings
from bot.config import _describe as describe_error
from bot.safe_csv import SafeCsvWriter
from bot.store import audit
from bot.store.audit import FIELDS, JSON_FIELDS, ChainReport
from bot.store.pg import audit_cli as pg_cli
from bot.store.store import open_connection
from bot.workflow.checkpoints import Checkpoint


def _line_sql() -> str:
    parts = []
    for name in FIELDS:
        value = f"json({name})" if name in JSON_FIELDS else name
        parts.append(f"'{name}', {value}")
    return f"json_object({', '.join(parts)})"


JSONL_SELECT = f"SELECT {_line_sql()} FROM audit"
CSV_SELECT = f"SELECT {audit.COLUMNS} FROM audit"


async def open_readonly(path: Path | str) -> aiosqlite.Connection:
    """Open an existing database without creating it or taking the write lock."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no audit database at {path}")
    conn = await open_connection(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, isolation_level=None)
    await conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _flush(buffer: io.StringIO, out: TextIO) -> None:
    out.write(buffer.getvalue())
    buffer.seek(0)
    buffer.truncate()


async def write_export(
    conn: aiosqlite.Connection,
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
    where, params = audit.where_clause(since=since, request_id=request_id)
    select = JSONL_SELECT if fmt == "jsonl" else CSV_SELECT
    buffer = io.StringIO()  # a batch of CSV lines, handed to `out` in one write
    writer = SafeCsvWriter(buffer) if fmt == "csv" else None
    if writer is not None:
        writer.row(FIELDS)
        _flush(buffer, out)
    count = 0
    # aclosing: a reader that leaves early (`| head`) closes the cursor before the connection
    async with aclosing(audit.iter_batches(conn, f"{select}{where} ORDER BY id", params, batch)) as batches:
        async for rows in batches:
            if writer is not None:
                writer.rows(rows)  # stored values: nested ones already canonical JSON text
                _flush(buffer, out)
            else:
                out.write("\n".join(row[0] for row in rows))
                out.write("\n")
            count += len(rows)
    return count


async def verify_file(path: Path | str) -> ChainReport:
    conn = await open_readonly(path)
    try:
        return await audit.verify_chain(conn)
    finally:
        await conn.close()


async def newest_row(path: Path | str) -> int | None:
    if pg_cli.is_pg_url(str(path)):
        return await pg_cli.newest_row(str(path))
    conn = await open_readonly(path)
    try:
        found = list(await conn.execute_fetchall("SELECT MAX(id) FROM audit"))
        return int(found[0][0]) if found and found[0][0] is not None else None
    finally:
        await conn.close()


def checkpoint_problem(checkpoint: Checkpoint, stored_hash: str | None, newest: int | None) -> str | None:
    """None when the database holds the checkpoint's row with its hash, else what is wrong."""
    if stored_hash is None:
        return (
            f"the database has no row {checkpoint.row} (its newest row is {newest or 'none'}): rows were cut "
            "from the end of the log, or this is an older copy of the database"
        )
    if stored_hash != checkpoint.hash:
        return f"row {checkpoint.row} has hash {stored_hash}: the chain was rewritten or rebuilt since"
    return None


async def checkpoint_problems(path: Path | str, checkpoints: Iterable[Checkpoint]) -> list[str | None]:
    """Per checkpoint: None when the database holds that row with that hash, else what is wrong."""
    checkpoints = list(checkpoints)
    if pg_cli.is_pg_url(str(path)):
        newest_id, stored = await pg_cli.hashes_of(str(path), [c.row for c in checkpoints])
        return [checkpoint_problem(c, stored.get(c.row), newest_id) for c in checkpoints]
    conn = await open_readonly(path)
    try:
        found = list(await conn.execute_fetchall("SELECT MAX(id) FROM audit"))
        newest = found[0][0] if found else None
        problems: list[str | None] = []
        for checkpoint in checkpoints:
            rows = list(await conn.execute_fetchall("SELECT hash FROM audit WHERE id = ?", (checkpoint.row,)))
            problems.append(checkpoint_problem(checkpoint, rows[0][0] if rows else None, newest))
        return problems
    finally:
        await conn.close()


def target(db: str | None) -> Path | str:
    """`--db` (a file or a postgresql:// URL), else DATABASE_URL, else AUDIT_DB."""
    if db:
        return db if pg_cli.is_pg_url(db) else Path(db)
    try:
        settings = StoreSettings()
    except ValidationError as error:  # a malformed DATABASE_URL: one line naming it, never the value
        raise SettingsError(describe_error(error)) from None
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return settings.audit_db


_db_path = target


async def export(fmt: str, since: str | None, request_id: int | None, db: str | None) -> int:
    try:
        since_at = audit.parse_since(since) if since else None
    except ValueError as error:
        print(f"immybot-slack: --since: {error}", file=sys.stderr)
        return 2
    where = target(db)
    if isinstance(where, str):
        return await _export_pg(where, fmt, since_at, request_id)
    try:
        conn = await open_readonly(where)
    except (FileNotFoundError, aiosqlite.Error) as error:
        print(f"immybot-slack: {error}", file=sys.stderr)
        return 1
    try:
        await write_export(conn, sys.stdout, fmt, since=since_at, request_id=request_id)
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader left; not an error (and no traceback at exit)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        await conn.close()
    return 0


async def _export_pg(url: str, fmt: str, since: str | None, request_id: int | None) -> int:
    try:
        conn = await pg_cli.connect(url)
    except psycopg.Error as error:
        print(f"immybot-slack: cannot connect to {pg_cli.safe_url(url)}: {pg_cli.one_line(error)}", file=sys.stderr)
        return 1
    try:
        await pg_cli.write_export(conn, sys.stdout, fmt, since=since, request_id=request_id)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        await conn.close()
    return 0


async def verify(db: str | None) -> int:
    path = target(db)
    try:
        report = await (pg_cli.verify_url(path) if isinstance(path, str) else verify_file(path))
    except (FileNotFoundError, aiosqlite.Error, psycopg.Error) as error:
        print(f"FAIL: {pg_cli.one_line(error)}")
        return 1
    print(report.line())
    return 0 if report.ok else 1
