"""Doctor checks for the audit database: opens, writable, schema current, WAL on, chain intact."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from bot.doctor import Check
from bot.store import audit
from bot.store.migrations import LATEST_VERSION
from bot.store.store import Store

if TYPE_CHECKING:
    from bot.config import Settings


def _fix_for(path: str, error: Exception) -> str:
    text = str(error).lower()
    if "readonly" in text or "unable to open" in text or isinstance(error, PermissionError):
        return (
            f"make {path} and its directory writable by the bot's user (SQLite also writes "
            f"{path}-wal and {path}-shm beside it), or point AUDIT_DB at a writable path"
        )
    if "newer than this bot" in text:
        return "upgrade the bot to the version that wrote this database"
    if "not a database" in text or "malformed" in text:
        return f"{path} is not a healthy SQLite file; move it aside for investigation and point AUDIT_DB elsewhere"
    return "check AUDIT_DB points at a local SQLite file the bot can write"


async def store_checks(settings: Settings) -> AsyncIterator[Check]:
    if settings.database_url is not None:
        from bot.store.pg.checks import pg_checks

        async for check in pg_checks(settings.database_url.get_secret_value()):
            yield check
        return
    path = settings.audit_db
    try:
        store = await Store.open(path)
    except (sqlite3.Error, OSError, RuntimeError) as error:
        yield Check("audit database", False, f"cannot open {path}: {error}", _fix_for(str(path), error))
        return
    try:
        try:
            async with store.write():
                pass  # takes the write lock and releases it: proves the file is writable now
        except sqlite3.Error as error:
            yield Check("audit database", False, f"{path} is not writable: {error}", _fix_for(str(path), error))
            return
        version = await store.schema_version()
        mode = str(await store.pragma("journal_mode")).lower()
        ok = version == LATEST_VERSION and mode == "wal"
        yield Check(
            "audit database",
            ok,
            f"{path}: schema v{version}/{LATEST_VERSION}, journal_mode={mode}",
            None if ok else "restart the bot so it migrates the file; WAL needs a local filesystem (not NFS/SMB)",
        )
        async with store.read() as tx:
            report = await audit.verify_chain(tx.conn)
        yield Check(
            "audit chain",
            report.ok,
            f"{report.rows} rows verified" if report.ok else report.line(),
            None
            if report.ok
            else "the audit log was altered: keep the file for investigation (`immybot-slack audit export`), "
            "then start a fresh AUDIT_DB",
        )
    finally:
        await store.close()
