"""A start that answers without session ids (run-immy-service-new): the starter looks the sessions up by
the group id until ImmyBot has created them (bounded), and never posts the run again meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.workflow.follower import Follower
from bot.workflow.model import Outcome, Request, RequestState, SessionInfo
from bot.workflow.schedule import Schedule
from bot.workflow.service import RequestService
from tests.domain.fakes import FakeSessions, InMemoryStore, RecordingReporter
from tests.domain.test_follow_domain import approved, follower_for, until
from tests.workflow.factories import APPROVER, make_domain_service, make_draft, make_policy


@dataclass
class SlowToCreate(FakeSessions):
    """Creates the sessions but answers with none; `find` sees them only after `hidden_lookups` lookups."""

    hidden_lookups: int = 3
    lookups: int = 0

    async def start(self, request: Request, computer_ids: Sequence[int], group_id: str) -> list[SessionInfo]:
        await super().start(request, computer_ids, group_id)
        return []

    async def find(self, computer_id: int, group_id: str) -> list[SessionInfo]:
        self.lookups += 1
        return [] if self.lookups <= self.hidden_lookups else await super().find(computer_id, group_id)


@pytest.fixture
def service() -> RequestService:
    return make_domain_service()[0]


async def test_sessions_created_late_are_found_without_a_second_post(service: RequestService) -> None:
    sessions = SlowToCreate(hidden_lookups=3)  # 1 computer: found on the 4th lookup (of 8)
    follower = follower_for(service, sessions, RecordingReporter())
    await follower.start()
    try:
        request = await approved(service, computers=1)
        follower.start_in_background(request.id)
        done = await until(service, request.id, RequestState.FINISHED)
    finally:
        await follower.aclose()
    assert sessions.start_calls == 1
    assert [s.session_id for s in done.sessions] == list(sessions.started)


async def test_sessions_that_never_appear_end_the_lookup(service: RequestService) -> None:
    sessions = SlowToCreate(hidden_lookups=10_000)
    follower = follower_for(service, sessions, RecordingReporter())
    await follower.start()
    try:
        request = await approved(service, computers=1)
        follower.start_in_background(request.id)
        done = await until(service, request.id, RequestState.FINISHED)
    finally:
        await follower.aclose()
    assert sessions.start_calls == 1 and done.sessions == []
    assert sessions.lookups == follower.starter.find_attempts


async def test_a_scheduled_run_is_not_given_up_before_its_time() -> None:
    """Both wait forever; max_wait is tiny: the run for now times out, the one for in two hours keeps waiting.
    The service pins the schedule on the same (real) clock the follower reads."""
    store = InMemoryStore()
    service = RequestService(store, make_policy(), clock=lambda: datetime.now(UTC))
    sessions = FakeSessions(scripts={1: ["Pending"]})
    follower = Follower(service, sessions, RecordingReporter(), poll_seconds=0.01, max_wait=timedelta(seconds=0.2),
                        start_backoff_base=0.001, start_backoff_cap=0.004)  # fmt: skip
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%H:%M")
    await follower.start()
    try:
        scheduled = await service.submit(make_draft(computers=1).model_copy(
            update={"schedule": Schedule.at_time(later, "Europe/Paris")}))
        await service.approve(scheduled.id, APPROVER)
        now = await approved(service, computers=1)
        follower.start_in_background(scheduled.id)
        follower.start_in_background(now.id)
        timed_out = await until(service, now.id, RequestState.FINISHED)
        assert timed_out.outcome is Outcome.TIMED_OUT
        await asyncio.sleep(0.5)  # well past max_wait, polled meanwhile: a "for now" deadline would have struck
        waiting = await service.get(scheduled.id)
        assert waiting.state is RequestState.RUNNING and not waiting.sessions[0].terminal
    finally:
        await follower.aclose()
        await store.close()
