"""Several replicas on one PostgreSQL database: each replica is its own pool (its own connections),
as two bot processes would be. One winner, one chain, one holder per session, takeover after expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.store.audit import AuditEntry
from bot.store.pg import PgStore
from bot.store.pg.audit_cli import verify_url
from bot.workflow.errors import IllegalTransition, InvalidSubmission
from bot.workflow.model import RequestState, SessionInfo
from bot.workflow.service import RequestService
from tests.workflow.factories import APPROVER, Clock, make_draft, make_policy

LEASE = timedelta(seconds=30)
T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)


@pytest.fixture
async def replicas(pg_url: str) -> AsyncIterator[tuple[PgStore, PgStore]]:
    first, second = await asyncio.gather(PgStore.open(pg_url, max_size=6), PgStore.open(pg_url, max_size=6))
    yield first, second
    await asyncio.gather(first.close(), second.close())


def _service(store: PgStore) -> RequestService:
    return RequestService(store, make_policy(), clock=Clock())  # type: ignore[arg-type]


async def test_submitted_on_one_approved_on_the_other(replicas: tuple[PgStore, PgStore]) -> None:
    one, other = (_service(s) for s in replicas)
    request = await one.submit(make_draft())
    assert (await other.approve(request.id, APPROVER)).state is RequestState.APPROVED
    assert (await one.get(request.id)).state is RequestState.APPROVED


async def test_ten_concurrent_approvals_over_two_replicas_one_winner(
    replicas: tuple[PgStore, PgStore], pg_url: str
) -> None:
    services = [_service(s) for s in replicas]
    request = await services[0].submit(make_draft())

    async def click(service: RequestService) -> bool:
        try:
            await service.approve(request.id, APPROVER)
            return True
        except IllegalTransition:
            return False

    wins = await asyncio.gather(*(click(services[i % 2]) for i in range(10)))
    assert sum(wins) == 1
    rows = await services[1].audit_rows()
    assert [r["event"] for r in rows].count("request.approved") == 1
    assert (await verify_url(pg_url)).ok


async def test_concurrent_appends_from_two_replicas_make_one_chain(
    replicas: tuple[PgStore, PgStore], pg_url: str
) -> None:
    async def append(store: PgStore, n: int) -> None:
        async with store.write() as tx:
            await tx.append_audit(AuditEntry(event="request.created", actor=f"U{n}"), T0)

    await asyncio.gather(*(append(replicas[i % 2], i) for i in range(40)))
    with pytest.raises(RuntimeError):  # a rolled-back append leaves no gap and no fork
        async with replicas[0].write() as tx:
            await tx.append_audit(AuditEntry(event="request.created"), T0)
            raise RuntimeError("handler failed after appending")
    await append(replicas[1], 99)
    report = await verify_url(pg_url)
    assert report.ok and report.rows == 41
    async with replicas[0].read() as tx:
        head = await tx.audit_head()
    assert head is not None and head[0] == 41


async def _with_sessions(store: PgStore, count: int) -> int:
    request = await _service(store).submit(make_draft())
    async with store.write() as tx:
        sessions = [SessionInfo(session_id=100 + i, computer_id=i, status="Running") for i in range(count)]
        await tx.add_sessions(request.id, sessions)
    return request.id


async def test_claim_due_never_hands_a_session_to_two_owners(replicas: tuple[PgStore, PgStore]) -> None:
    first, second = replicas
    for _ in range(5):
        await _with_sessions(first, 4)  # 20 sessions due at once

    async def claims(store: PgStore, owner: str) -> list[tuple[int, int]]:
        got: list[tuple[int, int]] = []
        for _ in range(6):
            for claim in await store.claim_due(owner, T0, LEASE, limit=3):
                got.append((claim.request_id, claim.session_id))  # polled; next poll later, as a follower does
                assert await store.reschedule(owner, claim.request_id, claim.session_id, T0 + timedelta(minutes=1))
        return got

    a, b = await asyncio.gather(claims(first, "replica-a"), claims(second, "replica-b"))
    assert not set(a) & set(b) and len(a) == len(set(a))
    assert len(set(a) | set(b)) == 20
    assert {(r, s) for r, s, _ in await first.leases("replica-a", T0)} == set(a)


async def test_an_expired_lease_is_taken_over(replicas: tuple[PgStore, PgStore]) -> None:
    first, second = replicas
    request_id = await _with_sessions(first, 2)
    mine = await first.claim_due("replica-a", T0, LEASE)
    assert len(mine) == 2 and all(c.taken_over_from is None for c in mine)
    assert await second.claim_due("replica-b", T0 + LEASE / 2, LEASE) == []  # live lease: not due for b
    assert await first.request_holder(request_id, T0 + LEASE / 2) == "replica-a"
    # replica-a dies; its leases run out
    later = T0 + LEASE + timedelta(seconds=1)
    taken = await second.claim_due("replica-b", later, LEASE)
    assert [c.taken_over_from for c in taken] == ["replica-a", "replica-a"]
    assert await first.renew("replica-a", later, LEASE) == set()  # a comes back: it holds nothing now
    assert await first.reschedule("replica-a", request_id, 100, later) is False
    assert await second.renew("replica-b", later, LEASE) == {(request_id, 100), (request_id, 101)}
    assert await second.request_holder(request_id, later) == "replica-b"


async def test_reschedule_release_and_finish(replicas: tuple[PgStore, PgStore]) -> None:
    first, second = replicas
    request_id = await _with_sessions(first, 2)
    await first.claim_due("replica-a", T0, LEASE)
    assert await first.reschedule("replica-a", request_id, 100, T0 + timedelta(minutes=5))
    assert await first.release("replica-a") == 2
    due = await second.claim_due("replica-b", T0 + timedelta(seconds=1), LEASE)
    assert [(c.session_id, c.taken_over_from) for c in due] == [(101, None)]  # 100 polls later
    async with second.write() as tx:  # a terminal status ends the follow-up
        await tx.set_session_status(request_id, 101, "Passed", T0)
    await first.finish(request_id, 100)
    assert await second.claim_due("replica-b", T0 + timedelta(hours=1), LEASE) == []
    assert await second.leases("replica-b", T0) == []


async def test_singleton_runs_on_one_replica_at_a_time(replicas: tuple[PgStore, PgStore]) -> None:
    first, second = replicas
    async with first.singleton("expiry") as mine:
        assert mine
        async with second.singleton("expiry") as theirs, second.singleton("reminders") as other_job:
            assert not theirs and other_job
    async with second.singleton("expiry") as theirs:
        assert theirs  # released with the transaction


async def test_same_slack_retry_on_both_replicas_records_one_request(replicas: tuple[PgStore, PgStore]) -> None:
    services = [_service(s) for s in replicas]
    made = await asyncio.gather(*(services[i % 2].submit(make_draft(), dedup_key="view:V1") for i in range(8)))
    assert len({r.id for r in made}) == 1
    rows = await services[0].audit_rows()
    assert [r["event"] for r in rows] == ["request.created"]


async def test_parallel_submissions_cannot_slip_under_the_hourly_limit(pg_url: str) -> None:
    stores = await asyncio.gather(PgStore.open(pg_url, max_size=6), PgStore.open(pg_url, max_size=6))
    try:
        services = [RequestService(s, make_policy(requests_per_hour=3), clock=Clock()) for s in stores]  # type: ignore[arg-type]

        async def submit(service: RequestService) -> bool:
            try:
                await service.submit(make_draft())
                return True
            except InvalidSubmission:
                return False

        accepted = await asyncio.gather(*(submit(services[i % 2]) for i in range(8)))
        assert sum(accepted) == 3
    finally:
        await asyncio.gather(*(s.close() for s in stores))
