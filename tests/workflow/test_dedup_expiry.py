"""Idempotency keys (replays return the original result) and approval expiry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.store import Store
from bot.workflow.errors import IllegalTransition, NotAllowed
from bot.workflow.expiry import tick_loop
from bot.workflow.model import Request, RequestState
from bot.workflow.service import RequestService
from tests.domain.fakes import InMemoryStore
from tests.workflow.factories import (
    APPROVER,
    APPROVER2,
    REQUESTER,
    STRANGER,
    Clock,
    make_domain_service,
    make_draft,
    make_policy,
    make_service,
)


async def _count(service: RequestService, event: str) -> int:
    return sum(1 for r in await service.audit_rows() if r["event"] == event)


async def test_submit_replay_returns_same_request(service: RequestService) -> None:
    first = await service.submit(make_draft(), dedup_key="view:V1")
    again = await asyncio.gather(*(service.submit(make_draft(), dedup_key="view:V1") for _ in range(10)))
    assert {r.id for r in again} == {first.id}
    assert len(await service.recent_for(REQUESTER)) == 1 and await _count(service, "request.created") == 1
    other = await service.submit(make_draft(), dedup_key="view:V2")
    assert other.id != first.id


async def test_refused_submission_does_not_burn_the_key(service: RequestService) -> None:
    with pytest.raises(Exception, match="limit"):
        await service.submit(make_draft(computers=9), dedup_key="view:V1")
    fixed = await service.submit(make_draft(), dedup_key="view:V1")  # same view id, corrected input
    assert fixed.state is RequestState.PENDING


async def test_decision_replay(service: RequestService, clock: Clock) -> None:
    request = await service.submit(make_draft())
    key = "button:1700000000.1:approve:" + APPROVER
    await service.approve(request.id, APPROVER, dedup_key=key)
    clock.advance(seconds=5)
    replay = await service.approve(request.id, APPROVER, dedup_key=key)  # Slack retry: no error
    assert replay.state is RequestState.APPROVED and replay.decided_at == clock.now.replace(second=0)
    assert await _count(service, "request.approved") == 1
    with pytest.raises(IllegalTransition):  # a different click (other key) is a stale click
        await service.approve(request.id, APPROVER2, dedup_key="button:other")


async def test_refused_decision_replay_raises_without_second_row(service: RequestService) -> None:
    request = await service.submit(make_draft())
    for _ in range(3):
        with pytest.raises(NotAllowed, match="not an approver"):
            await service.approve(request.id, STRANGER, dedup_key="k")
    assert await _count(service, "decision.refused") == 1


async def test_claim_and_prune(svc_store: tuple[RequestService, InMemoryStore], clock: Clock) -> None:
    service, store = svc_store
    assert await service.claim("event:Ev1") is True
    assert await service.claim("event:Ev1") is False
    assert await service.claim("event:Ev2", ttl_seconds=10) is True
    clock.advance(seconds=11)
    assert await service.claim("event:Ev2", ttl_seconds=10) is True  # expired key is taken over
    clock.advance(hours=2)
    await service.expire_due()  # prunes expired keys
    async with store.write() as tx:  # no key is left at all (each lives hours): expire_due pruned them
        assert await tx.prune_dedup(clock.now.replace(year=clock.now.year + 1)) == 0
    assert await service.claim("event:Ev1") is True


async def test_expiry() -> None:
    clock = Clock()
    service, store = make_domain_service(clock)
    try:
        old = await service.submit(make_draft())
        clock.advance(hours=23)
        young = await service.submit(make_draft())
        approved = await service.submit(make_draft())
        await service.approve(approved.id, APPROVER)
        assert await service.expire_due() == []
        clock.advance(hours=1, seconds=1)
        expired = await service.expire_due()
        assert [r.id for r in expired] == [old.id] and expired[0].state is RequestState.EXPIRED
        assert (await service.get(young.id)).state is RequestState.PENDING
        with pytest.raises(IllegalTransition) as caught:
            await service.approve(old.id, APPROVER)
        assert caught.value.current is RequestState.EXPIRED and caught.value.by is None
        rows = await service.audit_rows(request_id=old.id)
        assert rows[-1]["event"] == "request.expired" and rows[-1]["actor"] == "system"
    finally:
        await store.close()


async def test_expiry_loop_with_tiny_ttl(tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.domain.notifier_fakes import RecordingNotifier

    store = await Store.open(tmp_path / "a.db")
    notifier = RecordingNotifier(failing={"expired"})  # the loop survives a failing notification
    service = RequestService(store, make_policy(approval_ttl=timedelta(milliseconds=50)), notifier=notifier)
    try:
        request = await service.submit(make_draft())
        task = asyncio.create_task(tick_loop(service.expire_due, 0.02, name="expiry"))
        async with asyncio.timeout(5):
            await notifier.wait_for("expired")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert notifier.steps(request.id) == ["created", "expired"]  # told once, though telling failed
        assert (await service.get(request.id)).state is RequestState.EXPIRED
    finally:
        await store.close()


async def test_hourly_limit_holds_under_parallel_submissions_and_rolls(tmp_path: Path) -> None:
    """REQUESTS_PER_HOUR is counted under the write lock: ten at once cannot all slip under a limit of 3."""
    from bot.workflow.errors import InvalidSubmission

    clock = Clock()
    service, store = await make_service(tmp_path / "rate.db", clock, requests_per_hour=3)
    try:
        outcomes = await asyncio.gather(*(service.submit(make_draft(), dedup_key=f"view:V{n}") for n in range(10)),
                                        return_exceptions=True)
        assert sum(isinstance(o, Request) for o in outcomes) == 3
        refused = [o for o in outcomes if isinstance(o, InvalidSubmission)]
        assert len(refused) == 7 and all(e.field == "software" for e in refused)
        assert await _count(service, "request.refused") == 7
        with pytest.raises(InvalidSubmission):
            await service.admit(REQUESTER)  # the early check, before any target is looked up
        await service.admit(APPROVER)  # per person
        clock.advance(minutes=61)
        await service.admit(REQUESTER)  # a rolling hour
        assert (await service.submit(make_draft())).state is RequestState.PENDING
    finally:
        await store.close()


async def test_a_decision_key_is_scoped_to_its_request(service: RequestService) -> None:
    """The same caller key on two requests (App Home's one view id) decides each of them."""
    first, second = await service.submit(make_draft()), await service.submit(make_draft())
    await service.approve(first.id, APPROVER, dedup_key="V0HOME:approve:" + APPROVER)
    decided = await service.approve(second.id, APPROVER, dedup_key="V0HOME:approve:" + APPROVER)
    assert decided.state is RequestState.APPROVED and decided.decided_by == APPROVER
