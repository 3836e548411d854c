"""Retry failed and its summaries on the follower rig (fake Slack + fake ImmyBot over HTTP):
50 failed computers fit Slack's limits with a way to each log, and a retry survives a restart between
the click and the start (the starter resumes the attempt from the database)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from bot.immybot.port import ImmyBotSessions
from bot.slack.reports import ids
from bot.workflow.follower import Follower
from bot.workflow.model import Request, RequestState
from bot.workflow.retry_run import FollowUps
from bot.workflow.service import utc_now
from tests.follower.conftest import Rig
from tests.workflow.factories import REQUESTER, make_policy

SLACK_MAX_BLOCKS = 50


def _elements(blocks: list[dict]) -> list[dict]:
    out: list[dict] = []
    for block in blocks:
        out += [e for e in (block.get("accessory"), *(block.get("elements") or [])) if isinstance(e, dict)]
    return out


async def test_fifty_failed_computers_stay_within_slacks_limits_with_every_log_reachable(rig: Rig) -> None:
    computers = rig.computers(50)
    assert len(computers) == 50
    for computer in computers:
        rig.fake.script_computer(computer.id, ["Running", "Failed"], failure_message="exit code 1603")
    request = await rig.approved(computers)
    finished = await rig.finished(request.id, timeout=60)
    summaries = rig.summaries(finished)
    assert summaries
    for message in summaries:
        assert len(message.blocks) <= SLACK_MAX_BLOCKS
        assert len(message.text) <= 3000
    elements = [e for m in summaries for e in _elements(m.blocks)]
    retry = [e for e in elements if e.get("action_id") == ids.RETRY_ACTION]
    assert len(retry) == 1 and retry[0]["value"] == ids.summary_value(request.id, "1")
    reachable = {e["value"] for e in elements if e.get("action_id") == ids.SHOW_LOG_ACTION}
    for pick in (e for e in elements if e.get("action_id") == ids.SHOW_LOG_PICK_ACTION):
        assert len(pick["options"]) <= 100
        reachable |= {o["value"] for o in pick["options"]}
    assert reachable == {ids.log_value(request.id, s.session_id) for s in finished.sessions}


async def _attempt_reported(rig: Rig, request_id: int, attempt: int, timeout: float = 20.0) -> Request:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        request = await rig.service.get(request_id)
        posted = [m for m in rig.summaries(request) if m.metadata["event_payload"].get("attempt") == attempt]
        if request.state is RequestState.FINISHED and request.attempt == attempt and posted:
            return request
        assert time.monotonic() < deadline, f"#{request_id} is {request.state.value} at attempt {request.attempt}"
        await asyncio.sleep(0.05)


async def test_a_retry_claimed_before_a_restart_is_started_once_by_the_next_process(rig: Rig) -> None:
    computers = rig.computers(3, offset=5)
    for computer in computers[:2]:
        rig.fake.script_computer(computer.id, ["Running", "Failed"])
    request = await rig.approved(computers)
    first = await rig.finished(request.id)
    await rig.follower.aclose()  # the process dies right after the click committed the retry
    followups = FollowUps(rig.store, make_policy(max_targets=100), retry_window=timedelta(hours=24), clock=utc_now)
    answer = await followups.retry_failed(request.id, 1, REQUESTER)
    assert answer.started
    runs = len(rig.run_calls())
    again = Follower(rig.service, ImmyBotSessions(rig.immy_client), rig.reporter, poll_seconds=0.05,
                     max_wait=timedelta(seconds=30), start_backoff_base=0.05, start_backoff_cap=0.2)  # fmt: skip
    await again.start()
    try:
        second = await _attempt_reported(rig, request.id, 2)
    finally:
        await again.aclose()
    assert len(rig.run_calls()) == runs + 1
    failed = sorted(s.computer_id for s in first.sessions if s.status != "Passed")
    assert sorted(c["computerId"] for c in rig.run_calls()[-1].json["computers"]) == failed
    assert sorted(s.computer_id for s in second.sessions) == failed
    assert len([m for m in rig.summaries(second) if m.metadata["event_payload"].get("attempt") == 2]) == 1
    assert len([m for m in rig.summaries(second) if m.metadata["event_payload"].get("attempt", 1) == 1]) == 1
    rows = [r for r in await rig.service.audit_rows(request_id=request.id) if r["event"] == "request.retried"]
    assert len(rows) == 1 and rows[0]["immybot_session_ids"] == [s.session_id for s in second.sessions]
