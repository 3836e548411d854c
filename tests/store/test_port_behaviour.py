"""What the store port promises (`bot/workflow/ports.py`), operation by operation, on every backend: SQLite,
PostgreSQL and the domain tests' in-memory fake. The fake passing the same tests as the adapters is what
lets the domain tests (tests/domain, tests/workflow) run on it without testing a fiction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.store.audit import verify_rows
from bot.workflow.model import SESSION_PREVIEW, AuditEntry, Request, RequestState, SessionInfo
from bot.workflow.ports import RequestStore
from tests.store.backends import Backend
from tests.workflow.factories import REQUESTER, STRANGER, make_draft

T0 = datetime(2026, 1, 15, 14, 2, tzinfo=UTC)
S = RequestState


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[RequestStore]:
    opened: Any = await backend.open()
    yield opened
    await opened.close()


async def _insert(store: RequestStore, requester: str = REQUESTER, at: datetime = T0) -> Request:
    async with store.write() as tx:
        return await tx.insert_request(make_draft(requester), at)


async def _get(store: RequestStore, request_id: int) -> Request | None:
    async with store.read() as tx:
        return await tx.get_request(request_id)


async def test_insert_and_get_round_trip(store: RequestStore) -> None:
    first, second = await _insert(store), await _insert(store)
    assert first.state is S.PENDING and first.created_at == first.updated_at == T0 and second.id > first.id
    assert await _get(store, first.id) == first
    assert await _get(store, second.id + 100) is None


async def test_update_is_compare_and_set(store: RequestStore) -> None:
    request = await _insert(store)
    approved = request.model_copy(update={"state": S.APPROVED, "decided_by": "UAPPROVER", "updated_at": T0})
    async with store.write() as tx:
        assert await tx.update_request(approved, S.PENDING)
        assert not await tx.update_request(request.model_copy(update={"state": S.DENIED}), S.PENDING)
    assert await _get(store, request.id) == approved
    approved.decided_by = "UCHANGED"  # the caller's object is not the stored row
    assert (await _get(store, request.id)).decided_by == "UAPPROVER"  # type: ignore[union-attr]


async def test_a_write_that_raises_leaves_nothing(store: RequestStore) -> None:
    request = await _insert(store)
    with pytest.raises(RuntimeError):
        async with store.write() as tx:
            await tx.update_request(request.model_copy(update={"state": S.DENIED}), S.PENDING)
            await tx.insert_request(make_draft(), T0)
            await tx.claim("decided:1", T0, T0 + timedelta(hours=1))
            await tx.append_audit(AuditEntry(event="request.denied", actor="UAPPROVER"), T0)
            raise RuntimeError("the handler failed")
    async with store.read() as tx:
        assert (await tx.get_request(request.id)) == request
        assert await tx.in_states((S.PENDING, S.DENIED)) == [request]
        assert await tx.dedup_get("decided:1", T0) is None and await tx.audit_head() is None


async def test_claim_is_once_only_until_it_expires(store: RequestStore) -> None:
    later = T0 + timedelta(minutes=10)
    async with store.write() as tx:
        assert await tx.claim("final:1", T0, later)
        assert not await tx.claim("final:1", T0 + timedelta(minutes=9), later)
        assert await tx.dedup_get("final:1", T0) == ""
        assert await tx.claim("final:1", later, later + timedelta(minutes=10))  # expired: taken over
        assert not await tx.claim("final:1", later, later + timedelta(minutes=10))


async def test_fifty_concurrent_claims_one_winner(store: RequestStore) -> None:
    async def take() -> bool:
        async with store.write() as tx:
            return await tx.claim("summary:7", T0, T0 + timedelta(hours=1))

    assert sum(await asyncio.gather(*(take() for _ in range(50)))) == 1


async def test_dedup_results_expire_and_are_pruned(store: RequestStore) -> None:
    expires = T0 + timedelta(hours=1)
    async with store.write() as tx:
        await tx.dedup_put("submit:a", "12", expires)
        await tx.dedup_put("submit:b", "13", T0 + timedelta(hours=2))
        await tx.dedup_put("submit:a", "14", expires)  # put replaces
        assert await tx.dedup_get("submit:a", T0) == "14" and await tx.dedup_get("nope", T0) is None
        assert await tx.dedup_get("submit:a", expires) is None  # live means strictly before expires_at
        assert await tx.prune_dedup(expires) == 1
        assert await tx.dedup_get("submit:b", expires) == "13"


async def test_request_and_key_in_one_read(store: RequestStore) -> None:
    request = await _insert(store)
    async with store.write() as tx:
        await tx.dedup_put("approve:x", "done", T0 + timedelta(hours=1))
        assert await tx.get_request_and_key(request.id, None, T0) == (request, None)
        assert await tx.get_request_and_key(request.id, "approve:y", T0) == (request, None)
        assert await tx.get_request_and_key(request.id, "approve:x", T0) == (request, "done")
        assert await tx.get_request_and_key(request.id + 9, "approve:x", T0) == (None, "done")


async def test_queries_order_filter_and_limit(store: RequestStore) -> None:
    a = await _insert(store, at=T0)
    b = await _insert(store, STRANGER, at=T0 + timedelta(minutes=1))
    c = await _insert(store, at=T0 + timedelta(minutes=2))
    async with store.write() as tx:
        await tx.update_request(b.model_copy(update={"state": S.APPROVED}), S.PENDING)
        assert [r.id for r in await tx.recent_for(REQUESTER, 5)] == [c.id, a.id]
        assert [r.id for r in await tx.recent_for(REQUESTER, 1)] == [c.id]
        assert await tx.count_requests_since(REQUESTER, T0) == 2
        assert await tx.count_requests_since(REQUESTER, T0 + timedelta(seconds=1)) == 1
        assert [r.id for r in await tx.in_states((S.PENDING, S.APPROVED))] == [a.id, b.id, c.id]
        assert [r.id for r in await tx.in_states((S.PENDING,), 1)] == [a.id]
        assert [r.id for r in await tx.pending_created_before(T0 + timedelta(minutes=2))] == [a.id]


async def test_sessions_of_the_run_and_of_the_preview(store: RequestStore) -> None:
    request = await _insert(store)
    run = [SessionInfo(session_id=11, computer_id=1), SessionInfo(session_id=12, computer_id=2)]
    async with store.write() as tx:
        await tx.add_sessions(request.id, run)
        await tx.add_sessions(request.id, [run[0].model_copy(update={"status": "Failed"})])  # known: ignored
        await tx.add_sessions(request.id, [SessionInfo(session_id=5, computer_id=1)], SESSION_PREVIEW)
        await tx.set_session_status(request.id, 12, "Passed", T0)
    stored = await _get(store, request.id)
    assert stored is not None and [s.session_id for s in stored.preview_sessions] == [5]
    found = [(s.session_id, s.status, s.finished_at) for s in stored.sessions]
    assert found == [(11, run[0].status, None), (12, "Passed", T0)]
    retry = stored.model_copy(update={"attempt": 2, "sessions": []})
    async with store.write() as tx:
        await tx.update_request(retry, S.PENDING)
        await tx.add_sessions(request.id, [SessionInfo(session_id=21, computer_id=2, attempt=2)])
    assert [s.session_id for s in (await _get(store, request.id)).sessions] == [21]  # type: ignore[union-attr]


async def test_sessions_on_the_request_object_are_not_written_by_update(store: RequestStore) -> None:
    request = await _insert(store)
    async with store.write() as tx:
        await tx.update_request(request.model_copy(update={"sessions": [SessionInfo(session_id=1)]}), S.PENDING)
    assert (await _get(store, request.id)).sessions == []  # type: ignore[union-attr]


async def test_audit_log_is_one_verifiable_chain(store: RequestStore) -> None:
    entries = [
        AuditEntry(event="request.created", actor=REQUESTER, request_id=1, requester=REQUESTER,
                   software={"name": "7-Zip", "id": 714, "catalog": "Global"}, targets=[{"id": 1, "name": "PC-1"}],
                   reason='Ünïcode ✓ "quoted"\nline'),
        AuditEntry(event="request.approved", actor="UAPPROVER", request_id=1, requester=REQUESTER),
        AuditEntry(event="sessions.started", actor="system", request_id=1, immybot_session_ids=[11, 12]),
        AuditEntry(event="request.created", actor=STRANGER, request_id=2, requester=STRANGER),
    ]
    async with store.write() as tx:
        assert await tx.audit_head() is None
        appended = [await tx.append_audit(entry, T0 + timedelta(minutes=i)) for i, entry in enumerate(entries)]
        with pytest.raises(ValueError, match="comma"):
            await tx.append_audit(AuditEntry(event="request.created", actor="U1,U2"), T0)
    async with store.read() as tx:
        rows = await tx.audit_rows(since=None, request_id=None, user=None, limit=None)
        assert rows == appended and [row["id"] for row in rows] == [1, 2, 3, 4]
        assert await tx.audit_head() == (4, rows[-1]["hash"]) and rows[0]["prev_hash"] == "0" * 64
        assert rows[0]["at"] == "2026-01-15T14:02:00.000000Z" and rows[2]["immybot_session_ids"] == [11, 12]
        assert verify_rows(rows).line() == "OK: 4 rows"
        assert [r["id"] for r in await tx.audit_rows(since=T0 + timedelta(minutes=1), request_id=1, user=None,
                                                     limit=None)] == [2, 3]
        assert [r["id"] for r in await tx.audit_rows(since=None, request_id=None, user=REQUESTER, limit=None)] == [1, 2]
        assert [r["id"] for r in await tx.audit_rows(since=None, request_id=None, user=None, limit=2)] == [3, 4]

