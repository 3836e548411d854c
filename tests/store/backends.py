"""One store test-suite, two backends: the `backend` fixture runs a test on SQLite and on PostgreSQL.

A `Backend` opens stores on one database (a file, or a fresh PostgreSQL database), and does what the
tests need outside the store: verify, export, tamper behind the triggers' back, run raw SQL.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.store import Store
from bot.store.audit import ChainReport
from bot.store.audit_cli import open_readonly, verify_file, write_export
from bot.store.pg import PgStore
from bot.store.pg import audit_cli as pg_cli
from bot.workflow.service import RequestService
from tests.pg_server import PgServer
from tests.workflow.factories import Clock, make_policy

sqlite_only = pytest.mark.sqlite_only


@dataclass
class Backend:
    name: str
    target: str  # a file path, or a postgresql:// URL

    @property
    def is_pg(self) -> bool:
        return self.name == "postgresql"

    @property
    def append_only_error(self) -> type[Exception]:
        return psycopg.errors.RaiseException if self.is_pg else sqlite3.IntegrityError

    async def open(self, **kwargs: Any) -> Store | PgStore:
        return await (PgStore.open(self.target, **kwargs) if self.is_pg else Store.open(self.target))

    async def service(self, clock: Clock | None = None, **policy: object) -> tuple[RequestService, Any]:
        store = await self.open()
        return RequestService(store, make_policy(**policy), clock=clock or Clock()), store  # type: ignore[arg-type]

    async def verify(self) -> ChainReport:
        return await (pg_cli.verify_url(self.target) if self.is_pg else verify_file(self.target))

    async def export(self, fmt: str, batch: int = 3, **filters: object) -> str:
        out = io.StringIO()
        if self.is_pg:
            conn: Any = await pg_cli.connect(self.target)
            writer: Any = pg_cli.write_export
        else:
            conn, writer = await open_readonly(self.target), write_export
        try:
            await writer(conn, out, fmt, batch=batch, **filters)
        finally:
            await conn.close()
        return out.getvalue()

    def sql(self, *statements: str, bypass_triggers: bool = False) -> None:
        """Run raw statements in one transaction (as an attacker with database access would)."""
        if self.is_pg:
            with psycopg.connect(self.target) as conn:
                if bypass_triggers:
                    conn.execute("ALTER TABLE audit DISABLE TRIGGER USER")
                for statement in statements:
                    conn.execute(statement)  # type: ignore[arg-type]
            return
        conn2 = sqlite3.connect(self.target)
        if bypass_triggers:
            conn2.execute("DROP TRIGGER IF EXISTS audit_no_update")
            conn2.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        for statement in statements:
            conn2.execute(statement)
        conn2.commit()
        conn2.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", str(tmp_path / "audit.db"))
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("SQLite-specific (file, pragmas or locking)")
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.fresh_database()
    yield Backend("postgresql", url)
    server.drop(url)
