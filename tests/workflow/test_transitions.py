"""Every legal and illegal lifecycle transition, through the RequestService."""

from __future__ import annotations

import uuid

import pytest

from bot.workflow.errors import DomainError, IllegalTransition, RequestNotFound, SessionsNotDone
from bot.workflow.model import MessageRef, Outcome, Request, RequestState, SessionInfo
from bot.workflow.service import RequestService
from tests.workflow.factories import APPROVER, APPROVER2, REQUESTER, Clock, make_draft

S = RequestState


async def _in_state(service: RequestService, state: RequestState) -> Request:
    request = await service.submit(make_draft())
    if state is S.PENDING:
        return request
    if state is S.DENIED:
        return await service.deny(request.id, APPROVER, "no")
    if state is S.CANCELLED:
        return await service.cancel(request.id, REQUESTER)
    if state is S.EXPIRED:
        raise AssertionError("use the expiry tests")
    request = await service.approve(request.id, APPROVER)
    if state is S.APPROVED:
        return request
    request = await service.begin_start(request.id)
    if state is S.STARTING:
        return request
    request = await service.record_started(request.id, [SessionInfo(session_id=901, computer_id=1)])
    if state is S.RUNNING:
        return request
    await service.update_session(request.id, 901, "Passed")
    return await service.finish(request.id)


async def _events(service: RequestService, request_id: int) -> list[str]:
    return [row["event"] for row in await service.audit_rows(request_id=request_id)]


async def test_happy_path_states_and_audit(service: RequestService, clock: Clock) -> None:
    request = await service.submit(make_draft())
    assert (request.id, request.state) == (1, S.PENDING)
    clock.advance(minutes=1)
    approved = await service.approve(request.id, APPROVER)
    assert approved.state is S.APPROVED and approved.decided_by == APPROVER and approved.decided_at == clock.now
    starting = await service.begin_start(request.id)
    assert starting.state is S.STARTING and uuid.UUID(starting.session_group_id or "")
    again = await service.begin_start(request.id)
    assert again.session_group_id == starting.session_group_id  # a restart keeps the same group id
    sessions = [
        SessionInfo(session_id=11, computer_id=1),
        SessionInfo(session_id=12, computer_id=2, already_in_progress=True),
    ]
    running = await service.record_started(request.id, sessions)
    assert running.state is S.RUNNING and [s.session_id for s in running.sessions] == [11, 12]
    assert (await service.record_started(request.id, sessions)).state is S.RUNNING  # replay: unchanged
    await service.update_session(request.id, 11, "Running")
    await service.update_session(request.id, 11, "Passed")
    await service.update_session(request.id, 11, "Failed")  # first terminal status is final
    with pytest.raises(SessionsNotDone):
        await service.finish(request.id)
    await service.update_session(request.id, 12, "Passed")
    finished = await service.finish(request.id)
    assert (finished.state, finished.outcome) == (S.FINISHED, Outcome.PASSED)
    assert (await service.finish(request.id)).outcome is Outcome.PASSED  # idempotent
    stored = await service.get(request.id)
    assert [s.status for s in stored.sessions] == ["Passed", "Passed"] and stored.sessions[1].already_in_progress
    assert await _events(service, request.id) == [
        "request.created",
        "request.approved",
        "sessions.started",
        "session.finished",
        "session.finished",
        "request.finished",
    ]
    rows = await service.audit_rows(request_id=request.id)
    assert rows[2]["immybot_session_ids"] == [11, 12]
    assert rows[3]["outcome"] == "Passed" and rows[3]["immybot_session_ids"] == [11]
    assert rows[5]["outcome"] == "passed"


async def test_running_with_zero_sessions_finishes_failed(service: RequestService) -> None:
    request = await _in_state(service, S.STARTING)
    await service.record_started(request.id, [])
    finished = await service.finish(request.id)
    assert finished.outcome is Outcome.FAILED


async def test_timed_out_session_is_terminal(service: RequestService) -> None:
    request = await _in_state(service, S.RUNNING)
    await service.update_session(request.id, 901, "TimedOut")
    assert (await service.finish(request.id)).outcome is Outcome.TIMED_OUT


LEGAL = {
    (S.PENDING, "approve"): S.APPROVED,
    (S.PENDING, "deny"): S.DENIED,
    (S.PENDING, "cancel"): S.CANCELLED,
    (S.APPROVED, "cancel"): S.CANCELLED,
    (S.STARTING, "cancel"): S.CANCELLED,
    (S.RUNNING, "cancel"): S.RUNNING,  # cancel_requested
    (S.APPROVED, "begin_start"): S.STARTING,
    (S.STARTING, "begin_start"): S.STARTING,
    (S.STARTING, "record_started"): S.RUNNING,
    (S.RUNNING, "record_started"): S.RUNNING,
    (S.RUNNING, "finish"): S.FINISHED,
    (S.FINISHED, "finish"): S.FINISHED,
}
STATES = [S.PENDING, S.APPROVED, S.STARTING, S.RUNNING, S.FINISHED, S.DENIED, S.CANCELLED]
ACTIONS = ["approve", "deny", "cancel", "begin_start", "record_started", "finish"]


async def _do(service: RequestService, request: Request, action: str) -> Request:
    if action == "approve":
        return await service.approve(request.id, APPROVER2)
    if action == "deny":
        return await service.deny(request.id, APPROVER2, "nope")
    if action == "cancel":
        return await service.cancel(request.id, APPROVER2)
    if action == "begin_start":
        return await service.begin_start(request.id)
    if action == "record_started":
        return await service.record_started(request.id, [SessionInfo(session_id=902)])
    if request.state is S.RUNNING:
        await service.update_session(request.id, 901, "Failed")
    return await service.finish(request.id)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
async def test_transition_matrix(service: RequestService, state: RequestState, action: str) -> None:
    request = await _in_state(service, state)
    before = len(await service.audit_rows())
    if (state, action) in LEGAL:
        after = await _do(service, request, action)
        assert after.state is LEGAL[(state, action)]
        assert (await service.get(request.id)).state is after.state
        return
    with pytest.raises(IllegalTransition) as caught:
        await _do(service, request, action)
    assert caught.value.current is state and caught.value.request_id == request.id
    assert (await service.get(request.id)).state is state
    assert len(await service.audit_rows()) == before  # a refused move leaves no trace but the exception


async def test_illegal_transition_names_who_and_when(service: RequestService, clock: Clock) -> None:
    request = await service.submit(make_draft())
    await service.approve(request.id, APPROVER)
    with pytest.raises(IllegalTransition) as caught:
        await service.approve(request.id, APPROVER2)
    error = caught.value
    assert (error.current, error.wanted, error.by, error.at) == (S.APPROVED, S.APPROVED, APPROVER, clock.now)
    assert str(error) == f"Request #{request.id} was already approved by <@{APPROVER}> at 14:02 UTC."


async def test_cancel_of_running_request_sets_flag_once(service: RequestService) -> None:
    request = await _in_state(service, S.RUNNING)
    cancelled = await service.cancel(request.id, APPROVER)
    assert cancelled.state is S.RUNNING and cancelled.cancel_requested and cancelled.cancelled_by == APPROVER
    await service.cancel(request.id, APPROVER2)  # second cancel: no second audit row
    assert (await _events(service, request.id)).count("request.cancelled") == 1
    await service.update_session(request.id, 901, "Cancelled")
    assert (await service.finish(request.id)).outcome is Outcome.CANCELLED


async def test_record_started_after_cancel_during_start_is_illegal(service: RequestService) -> None:
    request = await _in_state(service, S.STARTING)
    await service.cancel(request.id, APPROVER)
    with pytest.raises(IllegalTransition) as caught:
        await service.record_started(request.id, [SessionInfo(session_id=5)])
    assert caught.value.current is S.CANCELLED and caught.value.by == APPROVER


async def test_unknown_request_and_session(service: RequestService) -> None:
    with pytest.raises(RequestNotFound):
        await service.get(99)
    with pytest.raises(RequestNotFound):
        await service.approve(99, APPROVER)
    request = await _in_state(service, S.RUNNING)
    with pytest.raises(DomainError):
        await service.update_session(request.id, 12345, "Passed")


async def test_claim_report_once_and_cards(service: RequestService) -> None:
    request = await service.submit(make_draft())
    card = MessageRef(channel="C1", ts="1.2")
    updated = await service.set_cards(request.id, request_card=card)
    updated = await service.set_cards(request.id, status_message=MessageRef(channel="C1", ts="3.4"))
    assert updated.request_card == card and updated.status_message and updated.approval_card is None
    assert (await service.get(request.id)).request_card == card
    assert await service.claim_report(request.id) is True
    assert await service.claim_report(request.id) is False
    assert (await service.get(request.id)).reported


async def test_listing_queries(service: RequestService) -> None:
    first = await service.submit(make_draft())
    second = await service.submit(make_draft(requester="UOTHER"))
    third = await service.submit(make_draft())
    await service.approve(third.id, APPROVER)
    assert [r.id for r in await service.recent_for(REQUESTER)] == [third.id, first.id]
    assert [r.id for r in await service.recent_for(REQUESTER, limit=1)] == [third.id]
    assert [r.id for r in await service.pending()] == [first.id, second.id]
    assert [r.id for r in await service.in_states(S.APPROVED, S.STARTING)] == [third.id]
