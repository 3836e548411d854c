"""The starter, the follower and the lifecycle against in-memory fakes of their ports: no HTTP, no Slack.

The end-to-end tests (tests/follower, tests/slack_e2e) drive the same paths over real HTTP; these pin
the domain's own rules quickly: start exactly once, retry while ImmyBot is down and say so once,
follow to a final summary told once, cancel a running request's sessions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.workflow.follower import Follower
from bot.workflow.model import Outcome, Request, RequestState
from bot.workflow.service import RequestService
from tests.domain.fakes import UNAVAILABLE, FakeSessions, RecordingReporter
from tests.workflow.factories import APPROVER, make_domain_service, make_draft


@pytest.fixture
def service() -> RequestService:
    return make_domain_service()[0]


def follower_for(service: RequestService, sessions: FakeSessions, notifier: RecordingReporter) -> Follower:
    return Follower(service, sessions, notifier, poll_seconds=0.01, max_wait=timedelta(seconds=30),
                    start_backoff_base=0.001, start_backoff_cap=0.004)


async def approved(service: RequestService, computers: int = 2) -> Request:
    request = await service.submit(make_draft(computers=computers))
    return await service.approve(request.id, APPROVER)


async def until(service: RequestService, request_id: int, *states: RequestState) -> Request:
    for _ in range(2000):
        request = await service.get(request_id)
        if request.state in states and (request.state is not RequestState.FINISHED or request.reported):
            return request
        await asyncio.sleep(0.005)
    raise AssertionError(f"request #{request_id} stayed {request.state.value}")


async def test_an_approved_request_starts_once_is_followed_and_summarised_once(service: RequestService) -> None:
    sessions = FakeSessions(scripts={1: ["Running", "Passed"], 2: ["Running", "Running", "Failed"]})
    notifier = RecordingReporter()
    follower = follower_for(service, sessions, notifier)
    await follower.start()
    try:
        request = await approved(service)
        follower.start_in_background(request.id)
        follower.start_in_background(request.id)  # a second call while one runs does nothing
        done = await until(service, request.id, RequestState.FINISHED)
        await asyncio.wait_for(notifier.final_seen.wait(), 5)
    finally:
        await follower.aclose()
    assert sessions.start_calls == 1 and len(sessions.started) == 2
    assert done.outcome is Outcome.PARTIAL  # one passed, one failed
    assert [step for step in notifier.steps if step[0] == "final"] == [("final", request.id)]
    assert notifier.steps[0] == ("resume_summaries", 0)  # summary recovery runs first, at start-up
    assert {r.status for r in notifier.finals[request.id]} == {"Passed", "Failed"}


async def test_immybot_down_at_start_is_retried_and_said_once(service: RequestService) -> None:
    sessions = FakeSessions(start_failures=[UNAVAILABLE, UNAVAILABLE, UNAVAILABLE])
    notifier = RecordingReporter()
    follower = follower_for(service, sessions, notifier)
    await follower.start()
    try:
        request = await approved(service)
        follower.start_in_background(request.id)
        done = await until(service, request.id, RequestState.FINISHED)
    finally:
        await follower.aclose()
    assert sessions.start_calls == 4
    assert notifier.unavailable == [request.id]  # told once, however long the outage
    assert done.outcome is Outcome.PASSED
    events = [r["event"] for r in await service.audit_rows(request_id=request.id)]
    assert events.count("sessions.started") == 1


async def test_cancelling_a_running_request_cancels_its_sessions(service: RequestService) -> None:
    sessions = FakeSessions(scripts={1: ["Running"], 2: ["Running"]})
    notifier = RecordingReporter()
    follower = follower_for(service, sessions, notifier)
    await follower.start()
    try:
        request = await approved(service)
        follower.start_in_background(request.id)
        await until(service, request.id, RequestState.RUNNING)
        decided = await service.decide("cancel", request.id, APPROVER)
        again = await service.decide("cancel", request.id, APPROVER)
        assert decided.tell and decided.request.cancel_requested and not again.tell  # told once
        await follower.cancel(request.id)
        done = await until(service, request.id, RequestState.FINISHED)
    finally:
        await follower.aclose()
    assert sorted(sessions.cancelled) == sorted(sessions.started)
    assert done.outcome is Outcome.CANCELLED


async def test_a_decision_is_told_once_and_a_replayed_click_tells_nobody(service: RequestService) -> None:
    request = await service.submit(make_draft())
    first = await service.decide("approve", request.id, APPROVER, dedup_key="click-1")
    replay = await service.decide("approve", request.id, APPROVER, dedup_key="click-1")
    assert first.tell and first.request.state is RequestState.APPROVED
    assert not replay.tell and replay.request.state is RequestState.APPROVED
