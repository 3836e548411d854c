"""The Retry failed use-case on the real store: who may, within which window, once per summary, and
what the next attempt holds (its own sessions, the failed computers only, a fresh group id)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.workflow.errors import RequestNotFound
from bot.workflow.model import Request, RequestState, SessionInfo
from bot.workflow.retry import RetryRefusal
from bot.workflow.retry_run import FollowUps, failed_computers
from bot.workflow.service import RequestService
from tests.domain.fakes import InMemoryStore
from tests.domain.notifier_fakes import RecordingNotifier, RecordingRuns
from tests.workflow.factories import (
    APPROVER,
    GROUP_MEMBER,
    REQUESTER,
    STRANGER,
    Clock,
    make_domain_service,
    make_draft,
    make_policy,
)


async def _finished(service: RequestService, statuses: list[str]) -> Request:
    request = await service.submit(make_draft(computers=len(statuses)))
    await service.approve(request.id, APPROVER)
    started = await service.begin_start(request.id)
    sessions = [SessionInfo(session_id=100 + i, computer_id=i + 1) for i in range(len(statuses))]
    await service.record_started(started.id, sessions)
    for i, status in enumerate(statuses):
        await service.update_session(request.id, 100 + i, status)
    return await service.finish(request.id)


@pytest.fixture
async def parts() -> AsyncIterator[tuple[RequestService, InMemoryStore, FollowUps, Clock]]:
    clock = Clock()
    service, store = make_domain_service(clock)
    followups = FollowUps(store, make_policy(), retry_window=timedelta(hours=1.5), clock=clock)
    yield service, store, followups, clock
    await store.close()


async def test_a_retry_runs_the_failed_computers_as_the_next_attempt(parts: tuple) -> None:
    service, _, followups, _ = parts
    first = await _finished(service, ["Passed", "Failed", "Cancelled"])
    answer = await followups.retry_failed(first.id, 1, REQUESTER)
    assert answer.started and answer.computers == (2, 3)
    retried = await service.get(first.id)
    assert retried.state is RequestState.STARTING and retried.attempt == 2
    assert retried.run_computer_ids == (2, 3) and retried.sessions == []
    assert retried.session_group_id != first.session_group_id
    assert retried.earlier_session_ids == [100, 101, 102]
    running = await service.record_started(first.id, [SessionInfo(session_id=200, computer_id=2),
                                                      SessionInfo(session_id=201, computer_id=3)])
    again = await service.get(first.id)
    assert [s.session_id for s in again.sessions] == [200, 201] and all(s.attempt == 2 for s in again.sessions)
    rows = await service.audit_rows(request_id=first.id)
    retried_row = next(r for r in rows if r["event"] == "request.retried")
    assert retried_row["actor"] == REQUESTER and retried_row["immybot_session_ids"] == [200, 201]
    assert [t["id"] for t in retried_row["targets"]] == [2, 3]
    assert running.attempt == 2


async def test_once_per_summary_even_when_clicked_together(parts: tuple) -> None:
    service, _, followups, _ = parts
    first = await _finished(service, ["Failed", "Failed"])
    answers = await asyncio.gather(*(followups.retry_failed(first.id, 1, who)
                                     for who in (REQUESTER, APPROVER, GROUP_MEMBER, REQUESTER)))  # fmt: skip
    assert sum(a.started for a in answers) == 1
    assert {a.refusal for a in answers if not a.started} == {RetryRefusal.ALREADY_RETRIED}


async def test_who_may_and_the_window(parts: tuple) -> None:
    service, _, followups, clock = parts
    first = await _finished(service, ["Failed"])
    stranger = await followups.retry_failed(first.id, 1, STRANGER)
    assert stranger.refusal is RetryRefusal.NOT_ALLOWED
    clock.advance(hours=1.5)  # the approval is now as old as the window: too late
    late = await followups.retry_failed(first.id, 1, REQUESTER)
    assert late.refusal is RetryRefusal.WINDOW_PASSED
    rows = [r for r in await service.audit_rows(request_id=first.id) if r["event"] == "decision.refused"]
    assert [(r["actor"], r["outcome"]) for r in rows] == [(STRANGER, "retry: not_allowed"),
                                                          (REQUESTER, "retry: window_passed")]
    assert (await service.get(first.id)).state is RequestState.FINISHED


async def test_nothing_to_retry_when_all_passed(parts: tuple) -> None:
    service, _, followups, _ = parts
    first = await _finished(service, ["Passed", "Passed"])
    assert failed_computers(first) == ()
    answer = await followups.retry_failed(first.id, 1, APPROVER)
    assert answer.refusal is RetryRefusal.NOTHING_TO_RETRY
    assert (await service.get(first.id)).attempt == 1


async def test_show_log_is_for_the_requester_and_approvers_and_this_requests_sessions(parts: tuple) -> None:
    service, _, followups, _ = parts
    first = await _finished(service, ["Failed"])
    assert (await followups.may_see_log(first.id, 100, REQUESTER))[1]
    assert (await followups.may_see_log(first.id, 100, GROUP_MEMBER))[1]
    assert not (await followups.may_see_log(first.id, 100, STRANGER))[1]
    with pytest.raises(RequestNotFound):
        await followups.may_see_log(first.id, 999, REQUESTER)  # another request's session
    await followups.retry_failed(first.id, 1, REQUESTER)
    assert (await followups.may_see_log(first.id, 100, REQUESTER))[1]  # an earlier attempt's session
    refused = [r for r in await service.audit_rows(request_id=first.id) if r["event"] == "decision.refused"]
    assert refused[-1]["actor"] == STRANGER and refused[-1]["outcome"].startswith("show log")


async def test_the_retry_that_happened_starts_its_run_and_is_told_once() -> None:
    """Four clicks together, one retry: its run is set going, then the thread is told, once; refusals and
    lost races start and tell nothing (they are answers to the clicker, given by the listener)."""
    clock = Clock()
    service, store = make_domain_service(clock)
    notifier, runs = RecordingNotifier(), RecordingRuns()
    followups = FollowUps(store, make_policy(), retry_window=timedelta(hours=1.5), clock=clock,
                          notifier=notifier, runs=runs)
    first = await _finished(service, ["Failed", "Passed", "Failed"])
    answers = await asyncio.gather(*(followups.retry_failed(first.id, 1, who)
                                     for who in (REQUESTER, APPROVER, STRANGER, REQUESTER)))  # fmt: skip
    [started] = [a for a in answers if a.started]
    assert runs.of(first.id) == ["start"]
    told = [(step, detail) for step, rid, detail in notifier.told if rid == first.id]
    assert told == [("retried", (2, started.request.retried_by))]
    await store.close()
