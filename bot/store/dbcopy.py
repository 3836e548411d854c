"""`immybot-slack db copy --from SRC --to DST`: all durable state from SQLite to PostgreSQL or back (SPEC §9).

SRC and DST are `sqlite:///relative/path`, `sqlite:////absolute/path` (SQLAlchemy's spelling), a plain
path, or a `postgresql://` URL. The source is read in one snapshot; DST must hold no state (its schema
is created), and is written in one transaction, so a failed copy leaves it empty. Audit rows move with
their hashes as they are (never recomputed), then DST's chain is verified. Sessions still running are
queued for follow-up on DST (unowned, due at once), so pending requests and runs carry on from the copy.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import psycopg

from bot.store import audit
from bot.store.audit import COLUMNS
from bot.store.audit_cli import open_readonly
from bot.store.pg import audit as pg_audit
from bot.store.pg import audit_cli as pg_cli
from bot.store.pg.schema import migrate as pg_migrate
from bot.store.store import connect as sqlite_connect

TABLES = ("requests", "sessions", "dedup", "audit")
_SELECTS = {
    "requests": "SELECT id, state, requester, created_at, updated_at, data FROM requests ORDER BY id",
    "sessions": "SELECT request_id, session_id, computer_id, status, already_in_progress, finished_at, kind, attempt "
    "FROM sessions",
    "dedup": "SELECT key, result, expires_at FROM dedup ORDER BY key",
    "audit": f"SELECT {COLUMNS} FROM audit ORDER BY id",
}
_INSERTS = {
    "requests": "INSERT INTO requests (id, state, requester, created_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?)",
    "sessions": "INSERT INTO sessions (request_id, session_id, computer_id, status, already_in_progress, finished_at, "
    "kind, attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "dedup": "INSERT INTO dedup (key, result, expires_at) VALUES (?, ?, ?)",
}


class CopyError(Exception):
    """A copy that cannot start or did not verify; `str()` is one line for the person running it."""


@dataclass(frozen=True)
class Location:
    text: str  # what the person typed, password hidden
    path: Path | None = None
    url: str | None = None

    @classmethod
    def parse(cls, value: str) -> Location:
        if pg_cli.is_pg_url(value):
            return cls(pg_cli.safe_url(value), url=value)
        if value.startswith("sqlite:"):
            if not value.startswith("sqlite:///"):
                raise CopyError(f"{value!r}: write sqlite:///relative/path or sqlite:////absolute/path")
            value = value.removeprefix("sqlite:///")
        if "://" in value:
            raise CopyError(f"{value.split('://')[0]}:// is not a database this bot uses (sqlite:/// or postgresql://)")
        return cls(value, path=Path(value))

    def identity(self) -> str:
        return self.url if self.url is not None else str(Path(self.path or "").resolve())


@dataclass
class Counts:
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))

    def line(self) -> str:
        return ", ".join(f"{n} {table}" for table, n in self.rows.items())


async def _read(src: Location) -> AsyncIterator[tuple[str, list[tuple[Any, ...]]]]:
    """(table, batch) for every table, from one consistent snapshot; audit rows as SPEC-shaped values."""
    if src.url is not None:
        conn = await pg_cli.connect(src.url)
        try:
            async with conn.transaction():
                await conn.execute("SET TRANSACTION READ ONLY, ISOLATION LEVEL REPEATABLE READ")
                for table in TABLES:
                    select = _SELECTS[table].replace("FROM sessions", "FROM sessions ORDER BY seq")
                    async for rows in pg_audit.iter_batches(conn, select):
                        if table == "audit":
                            rows = [tuple(pg_audit.pg_decode(r).values()) for r in rows]
                        yield table, rows
        finally:
            await conn.close()
        return
    assert src.path is not None
    lite = await open_readonly(src.path)
    try:
        await lite.execute("BEGIN")  # one snapshot of the whole file
        for table in TABLES:
            select = _SELECTS[table].replace("FROM sessions", "FROM sessions ORDER BY rowid")
            async for rows in audit.iter_batches(lite, select):
                if table == "audit":
                    rows = [tuple(audit.decode(r).values()) for r in rows]
                yield table, [tuple(r) for r in rows]
    finally:
        await lite.close()


async def _pg_empty(conn: psycopg.AsyncConnection) -> list[str]:
    found = []
    for table in TABLES:
        cursor = await conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")  # type: ignore[arg-type]
        if (await cursor.fetchone()) != (False,):
            found.append(table)
    return found


async def _copy_to_pg(url: str, src: Location, dst: Location) -> Counts:
    counts = Counts()
    conn = await pg_cli.connect(url)
    try:
        await pg_migrate(conn)
        async with conn.transaction():
            if busy := await _pg_empty(conn):
                raise CopyError(
                    f"{dst.text} is not empty (it holds {', '.join(busy)}): copy only into an empty database"
                )
            last: tuple[int, str] | None = None
            async with conn.cursor() as cursor:
                async for table, rows in _read(src):
                    if table == "audit":
                        dicts = [dict(zip(audit.FIELDS, r, strict=True)) for r in rows]
                        await cursor.executemany(pg_audit.INSERT_SQL, [pg_audit.pg_values(d) for d in dicts])
                        last = (dicts[-1]["id"], dicts[-1]["hash"])
                    else:
                        if table == "sessions":
                            rows = [(*r[:4], bool(r[4]), *r[5:]) for r in rows]
                        await cursor.executemany(_INSERTS[table].replace("?", "%s"), rows)  # type: ignore[arg-type]
                    counts.rows[table] += len(rows)
            if last is not None:
                await conn.execute("UPDATE audit_head SET id = %s, hash = %s", last)
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence('requests', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM requests"
            )
            await conn.execute(
                "INSERT INTO session_watch (request_id, session_id) "
                "SELECT request_id, session_id FROM sessions WHERE finished_at IS NULL"
            )
    finally:
        await conn.close()
    return counts


async def _copy_to_sqlite(path: Path, src: Location, dst: Location) -> Counts:
    counts = Counts()
    conn = await sqlite_connect(path)
    try:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for table in TABLES:
                async with conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})") as cursor:
                    if (await cursor.fetchone()) != (0,):
                        raise CopyError(f"{dst.text} is not empty (it holds {table}): copy only into an empty database")
            async for table, rows in _read(src):
                if table == "audit":
                    values = [audit.db_values(dict(zip(audit.FIELDS, r, strict=True))) for r in rows]
                    await conn.executemany(audit.INSERT_SQL, values)
                else:
                    if table == "sessions":
                        rows = [(*r[:4], int(r[4]), *r[5:]) for r in rows]
                    await conn.executemany(_INSERTS[table], rows)
                counts.rows[table] += len(rows)
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
    finally:
        await conn.close()
    return counts


async def copy(source: str, destination: str) -> Counts:
    """Copy everything from `source` to the empty `destination`, then verify its chain."""
    src, dst = Location.parse(source), Location.parse(destination)
    if src.identity() == dst.identity():
        raise CopyError("--from and --to are the same database")
    if src.path is not None and not src.path.is_file():
        raise CopyError(f"no SQLite database at {src.path}")
    counts = await (_copy_to_pg(dst.url, src, dst) if dst.url else _copy_to_sqlite(dst.path, src, dst))  # type: ignore[arg-type]
    report = await (pg_cli.verify_url(dst.url) if dst.url else _verify_file(dst.path))  # type: ignore[arg-type]
    if not report.ok or report.rows != counts.rows["audit"]:
        raise CopyError(f"the copy in {dst.text} does not verify: {report.line()}")
    return counts


async def _verify_file(path: Path) -> audit.ChainReport:
    from bot.store.audit_cli import verify_file

    return await verify_file(path)


async def run_copy(source: str, destination: str) -> int:
    """The CLI command: one line of counts and the verification, or one line saying what is wrong."""
    try:
        counts = await copy(source, destination)
    except CopyError as error:
        print(f"immybot-slack: db copy: {error}", file=sys.stderr)
        return 1
    except (OSError, aiosqlite.Error, psycopg.Error) as error:
        print(f"immybot-slack: db copy: {pg_cli.one_line(error)} (nothing was copied)", file=sys.stderr)
        return 1
    print(f"Copied {counts.line()} to {Location.parse(destination).text}")
    print(f"Verified: OK: {counts.rows['audit']} audit rows, chain intact")
    return 0
