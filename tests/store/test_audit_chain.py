"""The hash chain: SPEC-exact hashing, append-only triggers, and tampering named by row."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.audit import GENESIS_HASH, AuditEntry, verify_rows
from bot.store.audit_cli import verify, verify_file
from bot.workflow.service import RequestService
from tests.store.backends import Backend, adapter_only, sqlite_only
from tests.workflow.factories import APPROVER, make_draft


async def _log_with_rows(backend: Backend, requests: int = 4) -> str:
    service, store = await backend.service()
    for _ in range(requests):
        request = await service.submit(make_draft(reason='Ünïcode ✓ "quoted"\nline'))
        await service.approve(request.id, APPROVER)
    await store.close()
    return backend.target  # 2 rows per request


async def test_hash_is_spec_exact(service: RequestService) -> None:
    await service.submit(make_draft(reason="naïve ✓"))
    row = (await service.audit_rows())[0]
    body = {k: v for k, v in row.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "naïve ✓" in canonical and row["prev_hash"] == "0" * 64 == GENESIS_HASH
    assert row["hash"] == hashlib.sha256((row["prev_hash"] + canonical).encode("utf-8")).hexdigest()
    assert set(row) == {
        "id", "at", "request_id", "event", "actor", "requester", "software", "action", "targets", "reason",
        "decision_reason", "immybot_session_ids", "outcome", "prev_hash", "hash",
    }  # fmt: skip
    assert row["at"].endswith("Z") and row["software"] == {"name": "7-Zip", "id": 714, "catalog": "Global"}
    assert row["decision_reason"] is None and row["immybot_session_ids"] is None


@adapter_only
async def test_triggers_refuse_update_and_delete(svc_store: tuple[RequestService, Store], backend: Backend) -> None:
    service, store = svc_store
    await service.submit(make_draft())
    statements = ["UPDATE audit SET actor = 'UEVIL'", "DELETE FROM audit"] + (
        ["TRUNCATE audit"] if backend.is_pg else []
    )
    for statement in statements:
        with pytest.raises(backend.append_only_error, match="append-only"):
            async with store.write() as tx:
                await tx.conn.execute(statement)
    assert len(await service.audit_rows()) == 1


@adapter_only  # `audit verify` on the database
async def test_intact_log_verifies(backend: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    db = await _log_with_rows(backend)
    assert await verify(db) == 0
    assert capsys.readouterr().out.strip() == "OK: 8 rows"


@adapter_only
@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (["UPDATE audit SET actor = 'UEVIL' WHERE id = 5"], "FAIL: row 5: hash mismatch"),
        (['UPDATE audit SET targets = \'[{"id":9,"name":"DC-01"}]\' WHERE id = 3'], "FAIL: row 3: hash mismatch"),
        (["DELETE FROM audit WHERE id = 6"], "FAIL: row 6 missing (ids jump 5 -> 7)"),
        (["DELETE FROM audit WHERE id = 1"], "FAIL: row 1 missing (first id is 2)"),
        (
            [  # swap rows 4 and 5 (every column but id)
                "UPDATE audit SET id = -4 WHERE id = 4",
                "UPDATE audit SET id = 4 WHERE id = 5",
                "UPDATE audit SET id = 5 WHERE id = -4",
            ],
            "FAIL: row 4: prev_hash does not match row 3",
        ),
        (
            [  # a forged row appended with the right prev_hash but a made-up hash
                "INSERT INTO audit SELECT id + 1, at, request_id, 'request.approved', 'UEVIL', requester, software, "
                "action, targets, reason, NULL, NULL, NULL, hash, hash FROM audit WHERE id = 8"
            ],
            "FAIL: row 9: hash mismatch",
        ),
        (
            ["UPDATE audit SET prev_hash = '" + "1" * 64 + "' WHERE id = 1"],
            "FAIL: row 1: prev_hash does not match the genesis hash (64 zeros)",
        ),
    ],
)
async def test_tampering_is_named(
    backend: Backend, capsys: pytest.CaptureFixture[str], statements: list[str], expected: str
) -> None:
    db = await _log_with_rows(backend)
    backend.sql(*statements, bypass_triggers=True)
    assert await verify(db) == 1
    assert capsys.readouterr().out.strip() == expected


@sqlite_only
async def test_raw_file_edit_is_detected(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    await _log_with_rows(Backend("sqlite", str(db)))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = db.read_bytes()
    at = data.rfind(b"request.approved")  # only audit rows hold event names
    assert at > 0
    db.write_bytes(data[:at] + b"R" + data[at + 1 :])  # change one byte, as a hex editor would
    report = await verify_file(db)
    assert not report.ok and report.bad_row is not None and "hash mismatch" in (report.problem or "")


def test_verify_rows_reusable() -> None:
    assert verify_rows([]).line() == "OK: 0 rows"


async def test_two_stores_on_one_file_keep_one_chain(backend: Backend) -> None:
    """Each connection caches the chain head; appends by the other (or a rollback) must not fork the chain."""
    first, store_a = await backend.service()
    second, store_b = await backend.service()
    try:
        for i in range(6):
            await (first if i % 3 else second).submit(make_draft())
        with pytest.raises(RuntimeError):
            async with store_a.write() as tx:
                await tx.append_audit(AuditEntry(event="request.created"), datetime.now(UTC))
                raise RuntimeError("handler failed after appending")  # rolled back: head hint now stale
        await first.submit(make_draft())
        await second.submit(make_draft())
    finally:
        await store_a.close()
        await store_b.close()
    report = await backend.verify()
    assert report.ok and report.rows == 8
