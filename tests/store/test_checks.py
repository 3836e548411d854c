"""Doctor checks for the audit database."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.doctor import Check
from bot.store.checks import store_checks
from bot.store.migrations import LATEST_VERSION
from bot.store.pg import PgStore
from bot.workflow.service import RequestService
from tests.workflow.factories import make_draft, make_policy, make_service


async def _checks(monkeypatch: pytest.MonkeyPatch, db: Path) -> list[Check]:
    monkeypatch.setenv("AUDIT_DB", str(db))
    return [check async for check in store_checks(load_settings())]


async def test_healthy_database(valid_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    service, store = await make_service(db)
    await service.submit(make_draft())
    await store.close()
    checks = await _checks(monkeypatch, db)
    assert [c.ok for c in checks] == [True, True]
    assert f"schema v{LATEST_VERSION}/{LATEST_VERSION}, journal_mode=wal" in checks[0].detail
    assert checks[1].detail == "1 rows verified"


async def test_tampered_chain_fails(valid_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    service, store = await make_service(db)
    await service.submit(make_draft())
    await store.close()
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET actor = 'UEVIL'")
    conn.commit()
    conn.close()
    checks = await _checks(monkeypatch, db)
    assert not checks[1].ok and "row 1: hash mismatch" in checks[1].line() and "investigation" in checks[1].line()


async def test_unwritable_location(valid_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")  # no directory can be created here, even by root
    checks = await _checks(monkeypatch, not_a_dir / "audit.db")
    assert len(checks) == 1 and not checks[0].ok and "cannot open" in checks[0].detail
    assert "writable" in (checks[0].fix or "")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
async def test_read_only_directory(valid_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        checks = await _checks(monkeypatch, locked / "audit.db")
    finally:
        locked.chmod(0o700)
    assert len(checks) == 1 and not checks[0].ok and "writable" in (checks[0].fix or "")


async def test_not_a_database(valid_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / "junk.db"
    db.write_bytes(b"this is not sqlite" * 100)
    checks = await _checks(monkeypatch, db)
    assert len(checks) == 1 and not checks[0].ok and "not a healthy SQLite file" in (checks[0].fix or "")


async def test_postgresql_database(valid_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    """DATABASE_URL selects PostgreSQL: an unmigrated database, a healthy one, an unreachable one."""
    monkeypatch.setenv("DATABASE_URL", pg_url)
    checks = [check async for check in store_checks(load_settings())]
    assert [c.ok for c in checks] == [False] and f"schema v0/{LATEST_VERSION}" in checks[0].detail
    store = await PgStore.open(pg_url)
    service = RequestService(store, make_policy())  # type: ignore[arg-type]
    await service.submit(make_draft())
    await store.close()
    checks = [check async for check in store_checks(load_settings())]
    assert [c.ok for c in checks] == [True, True] and checks[1].detail == "1 rows verified"
    dead = pg_url.replace("postgres@", "postgres:hunter2@").rsplit(":", 1)[0] + ":1/x"
    monkeypatch.setenv("DATABASE_URL", dead)
    checks = [check async for check in store_checks(load_settings())]
    assert [c.ok for c in checks] == [False] and "hunter2" not in checks[0].detail and "***" in checks[0].detail
