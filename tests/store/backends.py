"""One store test-suite, three backends: the `backend` fixture runs a test on SQLite, on PostgreSQL and on
the domain tests' in-memory fake of the store port (`tests/domain/fakes.py`), which keeps the fake honest.

A `Backend` opens stores on one database (a file, a fresh PostgreSQL database, or one in-memory state),
and does what the tests need outside the store: verify, export, tamper behind the triggers' back, run raw
SQL. The fake has no SQL, files or CLI: a test about those is marked `adapter_only` (or `sqlite_only`) and
is not run on it.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.store import Store
from bot.store.audit import ChainReport, verify_rows
from bot.store.audit_cli import open_readonly, verify_file, write_export
from bot.store.pg import PgStore
from bot.store.pg import audit_cli as pg_cli
from bot.workflow.service import RequestService
from tests.domain.fakes import InMemoryStore
from tests.pg_server import PgServer
from tests.workflow.factories import Clock, make_policy

sqlite_only = pytest.mark.sqlite_only
adapter_only = pytest.mark.adapter_only
BACKENDS = ("sqlite", "postgresql", "memory")


@dataclass
class Backend:
    name: str
    target: str  # a file path, a postgresql:// URL, or "memory"
    memory: InMemoryStore = field(default_factory=InMemoryStore)  # the fake's one state ("memory" only)

    @property
    def is_memory(self) -> bool:
        return self.name == "memory"

    @property
    def is_pg(self) -> bool:
        return self.name == "postgresql"

    @property
    def append_only_error(self) -> type[Exception]:
        return psycopg.errors.RaiseException if self.is_pg else sqlite3.IntegrityError

    async def open(self, **kwargs: Any) -> Store | PgStore:
        if self.is_memory:
            return self.memory.sibling()  # type: ignore[return-value]  # a second store on the same state
        return await (PgStore.open(self.target, **kwargs) if self.is_pg else Store.open(self.target))

    async def service(self, clock: Clock | None = None, **policy: object) -> tuple[RequestService, Any]:
        store = await self.open()
        return RequestService(store, make_policy(**policy), clock=clock or Clock()), store  # type: ignore[arg-type]

    async def verify(self) -> ChainReport:
        if self.is_memory:  # the checks `audit verify` runs, on the fake's rows
            return verify_rows(self.memory.audit_log())
        return await (pg_cli.verify_url(self.target) if self.is_pg else verify_file(self.target))

    async def export(self, fmt: str, batch: int = 3, **filters: object) -> str:
        self._not_memory("export")
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
        self._not_memory("SQL")
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


    def _not_memory(self, what: str) -> None:
        if self.is_memory:
            raise AssertionError(f"the in-memory store has no {what}: mark the test `adapter_only`")


def runs_on(item: pytest.Item, name: str) -> bool:
    """Whether a store test applies to backend `name` (its markers say what it is about)."""
    if name == "memory" and item.get_closest_marker("adapter_only"):
        return False
    return name == "sqlite" or not item.get_closest_marker("sqlite_only")


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", str(tmp_path / "audit.db"))
        return
    if request.param == "memory":
        yield Backend("memory", "memory")
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("SQLite-specific (file, pragmas or locking)")
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.fresh_database()
    yield Backend("postgresql", url)
    server.drop(url)
