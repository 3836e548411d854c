"""Doctor checks for a PostgreSQL database (DATABASE_URL): reachable, writable, schema current, chain intact."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg

from bot.doctor import Check
from bot.store.pg import audit as pg_audit
from bot.store.pg.audit_cli import connect, one_line, safe_url
from bot.store.pg.schema import LATEST_VERSION, current_version


def _fix_for(error: Exception) -> str:
    text = str(error).lower()
    if "password authentication failed" in text or "no password supplied" in text:
        return "check the user and password in DATABASE_URL (the password is never printed)"
    if "does not exist" in text and "database" in text:
        return "create the database (createdb) or fix its name at the end of DATABASE_URL"
    if "permission denied" in text:
        return "grant the bot's user CREATE on its schema and read/write on its tables"
    return "check DATABASE_URL's host and port, and that PostgreSQL accepts connections from this machine"


async def pg_checks(url: str) -> AsyncIterator[Check]:
    where = safe_url(url)
    try:
        conn = await connect(url)
    except psycopg.Error as error:
        yield Check("database", False, f"cannot connect to {where}: {one_line(error)}", _fix_for(error))
        return
    try:
        try:
            async with conn.transaction(force_rollback=True):
                await conn.execute("CREATE TEMP TABLE doctor_probe (x int) ON COMMIT DROP")
            version = await current_version(conn)
        except psycopg.Error as error:
            yield Check("database", False, f"{where} is not usable: {one_line(error)}", _fix_for(error))
            return
        ok = version == LATEST_VERSION
        yield Check(
            "database",
            ok,
            f"PostgreSQL {conn.info.server_version} at {where}: schema v{version}/{LATEST_VERSION}",
            None if ok else "start the bot once so it migrates the database (replicas may start together)",
        )
        if not ok:
            return
        report = await pg_audit.verify_chain(conn)
        yield Check(
            "audit chain",
            report.ok,
            f"{report.rows} rows verified" if report.ok else report.line(),
            None
            if report.ok
            else "the audit log was altered: keep a dump for investigation (`immybot-slack audit export`)",
        )
    finally:
        await conn.close()
