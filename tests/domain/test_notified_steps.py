"""The workflow owns its steps: each use-case tells the notifier once per step that really happened, after
its change committed, and sets going what follows from it; a replayed click, a lost race, a refusal or a
repeated tick tells nobody and starts nothing. (What the thread replies say is the e2e tests' business.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.policy_file import parse_policy
from bot.workflow.approvals import AlreadyApproved, ReminderTick
from bot.workflow.errors import IllegalTransition, NotAllowed
from bot.workflow.model import RequestState, SessionInfo
from bot.workflow.policy import Policy
from bot.workflow.service import RequestService
from tests.domain.fakes import InMemoryStore
from tests.domain.notifier_fakes import RecordingNotifier, RecordingRuns
from tests.workflow.factories import APPROVER, APPROVER2, REQUESTER, STRANGER, Clock, make_draft, make_policy

TWO_APPROVALS = """\
rules:
  - name: two for everything
    approvals: 2
    approvers: [UAPPROVER, UAPPROVER2]
reminders:
  after_minutes: 30
  repeat: 2
  escalate_to: [U0ONCALL]
"""


@dataclass
class Rig:
    service: RequestService
    notifier: RecordingNotifier
    runs: RecordingRuns
    store: InMemoryStore
    clock: Clock
    policy: Policy


async def _rig(**policy: object) -> Rig:
    clock, notifier, runs = Clock(), RecordingNotifier(), RecordingRuns()
    store = InMemoryStore()
    built = make_policy(**policy)
    service = RequestService(store, built, clock=clock).telling(notifier, runs)
    return Rig(service, notifier, runs, store, clock, built)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    built = await _rig()
    yield built
    await built.store.close()


@pytest.fixture
async def two() -> AsyncIterator[Rig]:
    built = await _rig(doc=parse_policy(TWO_APPROVALS))
    yield built
    await built.store.close()


async def test_a_submission_is_told_once_after_the_answer_and_a_replay_tells_nothing(rig: Rig) -> None:
    order: list[str] = []

    async def answer() -> None:
        order.append(f"answered after {len(rig.notifier.told)} told")

    request = await rig.service.submit(make_draft(), dedup_key="view:V1", answer=answer)
    replay = await rig.service.submit(make_draft(), dedup_key="view:V1", answer=answer)
    assert replay.id == request.id
    assert rig.notifier.told == [("created", request.id, RequestState.PENDING)]
    assert order == ["answered after 0 told", "answered after 1 told"]  # the modal's ack never waits for Slack
    assert rig.runs.of(request.id) == ["preview"]  # pending: its preview (if it gets one), no run


async def test_an_approvers_own_preview_is_told_approved_at_once_and_started_once(rig: Rig) -> None:
    draft = make_draft(APPROVER).model_copy(update={"options": make_draft(preview=True).options})
    request = await rig.service.submit(draft, dedup_key="view:V2")
    await rig.service.submit(draft, dedup_key="view:V2")
    assert rig.notifier.told == [("created", request.id, RequestState.APPROVED)]
    assert rig.runs.of(request.id) == ["preview", "start"]


async def test_a_refused_submission_is_told_nothing(rig: Rig) -> None:
    with pytest.raises(Exception, match="5"):
        await rig.service.submit(make_draft(computers=6))  # over MAX_TARGETS
    assert rig.notifier.told == [] and rig.runs.calls == []


async def test_an_approval_is_told_once_and_starts_the_run_once(rig: Rig) -> None:
    request = await rig.service.submit(make_draft())
    first = await rig.service.decide("approve", request.id, APPROVER, dedup_key="click-1")
    replayed = await rig.service.decide("approve", request.id, APPROVER, dedup_key="click-1")
    with pytest.raises(IllegalTransition):  # a second approver's late click: a stale card, said to them alone
        await rig.service.decide("approve", request.id, APPROVER2, dedup_key="click-2")
    assert (first.tell, replayed.tell) == (True, False)
    assert rig.notifier.steps(request.id) == ["created", "decided"]
    assert rig.notifier.told[-1][2] == (RequestState.APPROVED, APPROVER)
    assert rig.runs.of(request.id) == ["preview", "start"]


async def test_fifty_clicks_at_once_tell_one_decision(rig: Rig) -> None:
    request = await rig.service.submit(make_draft())
    clicks = [rig.service.decide("approve", request.id, who, dedup_key=f"click-{n}")
              for n, who in enumerate([APPROVER, APPROVER2] * 25)]
    results = await asyncio.gather(*clicks, return_exceptions=True)
    assert sum(1 for r in results if not isinstance(r, BaseException) and r.tell) == 1
    assert rig.notifier.steps(request.id) == ["created", "decided"]
    assert rig.runs.of(request.id).count("start") == 1


async def test_a_refused_decision_is_told_nothing(rig: Rig) -> None:
    request = await rig.service.submit(make_draft())
    with pytest.raises(NotAllowed):
        await rig.service.decide("approve", request.id, STRANGER)
    with pytest.raises(NotAllowed):
        await rig.service.decide("approve", request.id, REQUESTER)  # no self-approval
    assert rig.notifier.steps(request.id) == ["created"] and rig.runs.of(request.id) == ["preview"]


async def test_a_denial_is_told_once_after_the_answer_and_stops_the_preview(rig: Rig) -> None:
    request = await rig.service.submit(make_draft())
    order: list[str] = []

    async def answer() -> None:
        order.append(f"answered after {len(rig.notifier.told)} told")

    await rig.service.decide("deny", request.id, APPROVER, reason="not today", dedup_key="deny:V9", answer=answer)
    await rig.service.decide("deny", request.id, APPROVER, reason="not today", dedup_key="deny:V9", answer=answer)
    assert rig.notifier.steps(request.id) == ["created", "decided"]
    assert rig.notifier.told[-1][2] == (RequestState.DENIED, APPROVER)
    assert order == ["answered after 1 told", "answered after 2 told"]
    assert rig.runs.of(request.id) == ["preview", "stop_preview"]


async def test_several_approvals_tell_each_approver_once_then_the_decision_once(two: Rig) -> None:
    request = await two.service.submit(make_draft())
    await two.service.decide("approve", request.id, APPROVER, dedup_key="a")
    await two.service.decide("approve", request.id, APPROVER, dedup_key="a")  # the same click, replayed
    with pytest.raises(AlreadyApproved):  # the same approver, a new click: said to them alone
        await two.service.decide("approve", request.id, APPROVER, dedup_key="b")
    await two.service.decide("approve", request.id, APPROVER2, dedup_key="c")
    assert two.notifier.steps(request.id) == ["created", "approval_added", "decided"]
    assert two.notifier.told[1][2] == APPROVER and two.notifier.told[2][2] == (RequestState.APPROVED, APPROVER2)
    assert two.runs.of(request.id) == ["preview", "start"]


async def test_a_cancel_is_told_once_and_cancels_the_sessions_once(rig: Rig) -> None:
    request = await rig.service.submit(make_draft())
    await rig.service.decide("approve", request.id, APPROVER)
    await rig.service.begin_start(request.id)
    await rig.service.record_started(request.id, [SessionInfo(session_id=7, computer_id=1)])
    first = await rig.service.decide("cancel", request.id, APPROVER, dedup_key="cancel:T1")
    again = await rig.service.decide("cancel", request.id, APPROVER2, dedup_key="cancel:T2")  # already cancelling
    assert (first.tell, again.tell) == (True, False)
    assert first.request.state is RequestState.RUNNING and first.request.cancel_requested
    assert rig.notifier.steps(request.id) == ["created", "decided", "cancelled"]
    assert rig.notifier.told[-1][2] == (RequestState.RUNNING, APPROVER)
    assert rig.runs.of(request.id) == ["preview", "start", "cancel"]


async def test_a_pending_cancel_is_told_once_and_a_second_is_a_stale_one(rig: Rig) -> None:
    request = await rig.service.submit(make_draft())
    await rig.service.decide("cancel", request.id, REQUESTER, dedup_key="cancel:T1")
    with pytest.raises(IllegalTransition):
        await rig.service.decide("cancel", request.id, REQUESTER, dedup_key="cancel:T2")
    assert rig.notifier.steps(request.id) == ["created", "cancelled"]
    assert rig.notifier.told[-1][2] == (RequestState.CANCELLED, REQUESTER)
    assert rig.runs.of(request.id) == ["preview", "cancel"]


async def test_an_expiry_is_told_once_and_a_failing_notice_does_not_silence_the_others(rig: Rig) -> None:
    first = await rig.service.submit(make_draft())
    second = await rig.service.submit(make_draft())
    rig.notifier.failing.add("expired")
    rig.clock.advance(hours=25)
    expired = await rig.service.expire_due()
    assert {r.id for r in expired} == {first.id, second.id}
    assert await rig.service.expire_due() == []
    assert rig.notifier.steps().count("expired") == 2  # both told, although each telling raised
    with pytest.raises(IllegalTransition):  # a click on an expired card is a stale one
        await rig.service.decide("approve", first.id, APPROVER)
    assert rig.notifier.steps(first.id) == ["created", "expired"]


async def test_reminders_are_told_once_per_tick_that_recorded_them(two: Rig) -> None:
    request = await two.service.submit(make_draft())
    tick = ReminderTick(two.store, two.policy, two.clock, two.notifier)
    two.clock.advance(minutes=31)
    await tick.tick()
    assert await tick.tick() == []  # nothing newly due: nothing told
    two.clock.advance(minutes=30)
    await tick.tick()
    reminded = [detail for step, rid, detail in two.notifier.told if step == "reminded" and rid == request.id]
    assert reminded == [("remind",), ("remind", "escalate")]


async def test_without_a_notifier_the_lifecycle_tells_nobody() -> None:
    """Tools and the follower use the silent service: every step works, nothing is told or started."""
    store = InMemoryStore()
    try:
        service = RequestService(store, make_policy())
        request = await service.submit(make_draft())
        assert (await service.decide("approve", request.id, APPROVER)).tell
    finally:
        await store.close()


async def test_an_approval_starts_its_run_even_when_telling_it_failed(rig: Rig) -> None:
    request = await rig.service.submit(make_draft())
    rig.notifier.failing.add("decided")
    with pytest.raises(RuntimeError, match="slack hiccup"):
        await rig.service.decide("approve", request.id, APPROVER)
    assert rig.runs.of(request.id) == ["preview", "start"]
    assert (await rig.service.get(request.id)).state is RequestState.APPROVED
