"""An approver cancels while the start is in flight or being retried; "ImmyBot is unavailable" is said once
per request, also across a restart."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.immybot.port import ImmyBotSessions
from bot.slack.reports.reporter import SlackReporter
from bot.workflow.follower import Follower
from bot.workflow.model import MessageRef, RequestState
from immybot_slack_sandbox.immy_faults import Fault
from tests.follower.conftest import Rig
from tests.follower.test_faults import unavailable_said
from tests.workflow.factories import APPROVER

RUN = "/api/v1/run-immy-service"
CANCEL = "/api/v1/maintenance-sessions/*/cancel"
NOTE = "was cancelled while ImmyBot was starting it"


def notes(rig: Rig, request: Any) -> list[str]:
    return [m.text for m in rig.thread(request) if NOTE in m.text]


async def events(rig: Rig, request_id: int) -> list[dict[str, Any]]:
    return await rig.service.audit_rows(request_id=request_id)


async def test_cancel_while_the_post_is_in_flight_cancels_what_immybot_started(rig: Rig) -> None:
    a, b = rig.computers(2)
    for computer in (a, b):
        rig.fake.script_computer(computer.id, ["Created", *["Running"] * 200, "Passed"])
    rig.fake.faults.latency(0.8, RUN)  # ImmyBot is slow: it starts the sessions after 0.8 s
    request = await rig.approved([a, b])
    await rig.slack.wait_until(rig.run_calls)  # the POST reached ImmyBot and is being processed

    cancelled = await rig.service.cancel(request.id, APPROVER)
    assert cancelled.state is RequestState.CANCELLED
    await rig.slack.wait_until(lambda: rig.follower.idle, timeout=10)

    started = list(rig.fake.sessions.values())
    assert len(started) == 2 and all(s.status == "Cancelled" for s in started)
    assert len(rig.fake.requests_to(CANCEL, "GET")) == 2
    assert len(rig.run_calls()) == 1
    [note] = notes(rig, request)
    assert all(str(s.id) in note for s in started) and "ImmyBot did not cancel" not in note
    rows = await events(rig, request.id)
    assert [r["event"] for r in rows] == [
        "request.created", "request.approved", "request.cancelled", "sessions.started"
    ]  # fmt: skip
    assert sorted(rows[-1]["immybot_session_ids"]) == sorted(s.id for s in started)
    assert rows[-1]["outcome"] == "cancelled"
    final = await rig.service.get(request.id)
    assert final.state is RequestState.CANCELLED and final.sessions == []


async def test_a_request_cancelled_between_start_retries_is_never_posted_again(rig: Rig) -> None:
    rig.fake.faults.always(RUN, Fault.server_error(503))  # answered before ImmyBot starts anything
    a, b = rig.computers(2)
    request = await rig.approved([a, b])
    await rig.slack.wait_until(lambda: len(rig.run_calls()) >= 2)
    await rig.service.cancel(request.id, APPROVER)
    await rig.slack.wait_until(lambda: rig.follower.idle, timeout=10)
    posts = len(rig.run_calls())
    rig.fake.faults.clear()
    await asyncio.sleep(0.6)  # several times the backoff cap (0.2 s)

    assert len(rig.run_calls()) == posts
    assert rig.fake.sessions == {}
    assert notes(rig, request) == []  # nothing was started, so there is nothing to say
    assert unavailable_said(rig) == 1


@pytest.mark.parametrize("follower_options", [{"start_backoff_base": 0.5, "start_backoff_cap": 0.5}])
async def test_sessions_of_an_unanswered_post_are_cancelled_when_the_request_is(rig: Rig) -> None:
    """ImmyBot started the sessions but the answer was a 500; the approver cancels before the retry."""
    a, b = rig.computers(2)
    for computer in (a, b):
        rig.fake.script_computer(computer.id, ["Created", *["Running"] * 200, "Passed"])
    app = rig.fake.app

    async def started_then_500(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("path") == RUN:

            async def swallow(message: dict) -> None:
                return None

            await app(scope, receive, swallow)
            await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"upstream reset"})
            return
        await app(scope, receive, send)

    rig.fake.app = started_then_500
    request = await rig.approved([a, b])
    await rig.slack.wait_until(lambda: unavailable_said(rig) == 1)  # the POST failed; a retry is 0.5 s away
    await rig.service.cancel(request.id, APPROVER)
    await rig.slack.wait_until(lambda: rig.follower.idle, timeout=10)

    assert len(rig.run_calls()) == 1
    started = list(rig.fake.sessions.values())
    assert len(started) == 2 and all(s.status == "Cancelled" for s in started)
    assert len(notes(rig, request)) == 1
    assert [r["event"] for r in await events(rig, request.id)][-2:] == ["request.cancelled", "sessions.started"]


async def test_unavailable_is_said_once_per_request_across_a_restart(rig: Rig) -> None:
    rig.fake.faults.always(RUN, Fault.server_error(503))
    a = rig.computers(1)[0]
    rig.fake.script_computer(a.id, ["Created", "Passed"])
    request = await rig.approved([a])
    await rig.slack.wait_until(lambda: unavailable_said(rig) == 1 and len(rig.run_calls()) >= 2)
    await rig.follower.aclose()  # restart while ImmyBot is still down
    await rig.reporter.aclose()

    async def save(request_id: int, ref: MessageRef) -> None:
        await rig.service.set_cards(request_id, status_message=ref)

    reporter = SlackReporter(rig.client, base_url=rig.immy.base_url, save_status_message=save,
                             min_edit_interval=0.3, marks=rig.service)  # fmt: skip
    again = Follower(rig.service, ImmyBotSessions(rig.immy_client), reporter, poll_seconds=0.05,
                     max_wait=timedelta(seconds=30), start_backoff_base=0.05, start_backoff_cap=0.2)  # fmt: skip
    before = len(rig.run_calls())
    await again.start()
    rig.follower, rig.reporter = again, reporter  # rig.finished waits for the live bot to be idle
    try:
        await rig.slack.wait_until(lambda: len(rig.run_calls()) >= before + 2)  # the new process retried
        await asyncio.sleep(0.4)  # its status flusher would have sent by now (edit interval 0.3 s)
        assert unavailable_said(rig) == 1
        rig.fake.faults.clear()
        done = await rig.finished(request.id)
    finally:
        await again.aclose()
        await reporter.aclose()
    assert done.state is RequestState.FINISHED and len(rig.summaries(done)) == 1
    assert unavailable_said(rig) == 1
