"""A start that answers without session ids (run-immy-service-new): the starter looks the sessions up by
the group id until ImmyBot has created them (bounded), and never posts the run again meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.workflow.model import Request, RequestState, SessionInfo
from bot.workflow.service import RequestService
from tests.domain.fakes import FakeSessions, RecordingNotifier
from tests.domain.test_follow_domain import approved, follower_for, until
from tests.workflow.factories import make_service


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
async def service(tmp_path: Path) -> AsyncIterator[RequestService]:
    service, store = await make_service(tmp_path / "audit.db")
    try:
        yield service
    finally:
        await store.close()


async def test_sessions_created_late_are_found_without_a_second_post(service: RequestService) -> None:
    sessions = SlowToCreate(hidden_lookups=3)  # 1 computer: found on the 4th lookup (of 8)
    follower = follower_for(service, sessions, RecordingNotifier())
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
    follower = follower_for(service, sessions, RecordingNotifier())
    await follower.start()
    try:
        request = await approved(service, computers=1)
        follower.start_in_background(request.id)
        done = await until(service, request.id, RequestState.FINISHED)
    finally:
        await follower.aclose()
    assert sessions.start_calls == 1 and done.sessions == []
    assert sessions.lookups == follower.starter.find_attempts
