"""SPEC §7 over HTTP: When (now / after business hours / at a time), Retry failed and Show log.

Everything goes through signed Slack requests to the running bot, the fake Slack and the fake ImmyBot;
the audit rows are read back from the bot's own store.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.slack.reports import ids as report_ids
from bot.slack.reports.reporter import SUMMARY_EVENT
from bot.slack.requests import ids
from bot.workflow.model import Request
from bot.workflow.schedule import When
from immybot_slack_sandbox.immy_logs import SECRET_PARAMETER_VALUE
from immybot_slack_sandbox.slack_state import Message
from tests.slack_e2e.conftest import APPROVE, JANE, World
from tests.slack_e2e.flows import computer_ids, request_via_modal, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")

RUN_NEW = "/api/v1/run-immy-service-new"


async def _approved(world: World, request: Request) -> None:
    card = world.approval_card(request.id)
    delivery = await world.driver.click(world.ws.approver, card.channel, card.ts, APPROVE)
    assert delivery.status == 200


async def _finished(world: World, request_id: int, attempt: int = 1, timeout: float = 20.0) -> Request:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        request = await world.service.get(request_id)
        if request.state.value == "finished" and request.attempt == attempt and _summaries(world, request, attempt):
            return request
        if time.monotonic() > deadline:
            raise TimeoutError(f"#{request_id} is {request.state.value} at attempt {request.attempt}")
        await asyncio.sleep(0.05)


def _summaries(world: World, request: Request, attempt: int) -> list[Message]:
    card = request.request_card
    assert card is not None
    return [m for m in world.fake.thread(card.channel, card.ts)
            if (m.metadata or {}).get("event_type") == SUMMARY_EVENT
            and (m.metadata or {}).get("event_payload", {}).get("attempt", 1) == attempt]  # fmt: skip


def _thread_text(world: World, request: Request) -> str:
    card = request.request_card
    assert card is not None
    return "\n".join(f"{m.text} {m.blocks}" for m in world.fake.thread(card.channel, card.ts))


async def _events(world: World, request_id: int, event: str) -> list[dict[str, Any]]:
    return [r for r in await world.audit(request_id=request_id) if r["event"] == event]


def _everything_sent(world: World) -> str:
    """Every call the bot made to Slack (posts, edits, ephemerals, uploads) and every file's content."""
    return "\n".join([repr(c.params) for c in world.fake.calls()] + [f.text or "" for f in world.fake.files.values()])


# ---- When --------------------------------------------------------------------------------------


async def test_at_a_time_goes_through_run_new_and_waits_for_its_time(world: World) -> None:
    world.fake.users[world.ws.requester].tz = "Europe/Paris"
    paris = ZoneInfo("Europe/Paris")
    now = datetime.now(UTC).astimezone(paris)
    at = now + timedelta(hours=2)  # after 22:00 in Paris this is tomorrow: both are checked
    ids_ = computer_ids(world, 2, start=10)
    request = await request_via_modal(world, world.ws.requester, **{ids.COMPUTERS_BLOCK: ids_,
                                      ids.WHEN_BLOCK: When.AT_TIME.value, ids.WHEN_TIME_BLOCK: f"{at:%H:%M}"})
    assert request.schedule.when is When.AT_TIME and request.schedule.tz == "Europe/Paris"
    assert request.schedule.run_at is not None and request.schedule.next_day is (at.date() != now.date())
    card = world.fake.find_message(request.request_card.channel, request.request_card.ts)  # type: ignore[union-attr]
    assert card is not None and f"at {at:%H:%M} (Europe/Paris)" in str(card.blocks)
    assert f"at {at:%H:%M} (Europe/Paris)" in str(world.approval_card(request.id).blocks)
    new_before = len(world.immy.immybot.requests_to(RUN_NEW, "POST"))
    await _approved(world, request)
    running = await wait_state(world, request.id, "running", timeout=15)
    posts = world.immy.immybot.requests_to(RUN_NEW, "POST")
    assert len(posts) == new_before + 1
    body = posts[-1].json
    assert body["updateTime"] == f"{at:%H:%M}" and body["timeZoneInfoId"] == "Europe/Paris"
    assert body["sessionGroupId"] == running.session_group_id
    # found by the group id, as after a crash: one session per computer, waiting for its time
    assert sorted(s.computer_id for s in running.sessions) == sorted(int(i) for i in ids_)
    started = await _events(world, request.id, "sessions.started")
    assert started[-1]["immybot_session_ids"] == [s.session_id for s in running.sessions]
    assert started[-1]["outcome"].startswith("scheduled_at ") and "Europe/Paris" in started[-1]["outcome"]
    await asyncio.sleep(1.0)  # several poll intervals: still waiting, not given up
    assert (await world.service.get(request.id)).state.value == "running"
    assert f"at {at:%H:%M} (Europe/Paris)" in _thread_text(world, request)  # the status message says when
    world.immy.immybot.clock.advance(hours=3)  # ImmyBot's clock reaches the time: the sessions run
    finished = await _finished(world, request.id)
    assert finished.outcome is not None and finished.outcome.value == "passed"


async def test_a_past_time_means_tomorrow_and_no_profile_zone_means_utc_said_so(world: World) -> None:
    world.fake.users[JANE].tz = None  # type: ignore[assignment]
    now = datetime.now(UTC)
    earlier = now - timedelta(hours=1)
    request = await request_via_modal(world, JANE, **{ids.COMPUTERS_BLOCK: computer_ids(world, 1, start=20),
                                      ids.WHEN_BLOCK: When.AT_TIME.value, ids.WHEN_TIME_BLOCK: f"{earlier:%H:%M}"})
    schedule = request.schedule
    assert schedule.tz == "UTC" and schedule.tz_fallback
    assert schedule.next_day is (earlier.date() == now.date())  # past today: tomorrow, as ImmyBot does
    card = world.fake.find_message(request.request_card.channel, request.request_card.ts)  # type: ignore[union-attr]
    assert card is not None and "your Slack profile has no time zone" in str(card.blocks)
    if schedule.next_day:
        assert "the next day" in str(card.blocks)
    await world.service.cancel(request.id, JANE)


async def test_after_business_hours_is_sent_through_run_immy_service(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester, **{ids.COMPUTERS_BLOCK: computer_ids(world, 1, 30),
                                      ids.WHEN_BLOCK: When.AFTER_HOURS.value})
    assert "after business hours" in str(world.approval_card(request.id).blocks)
    before = len(world.run_calls())
    await _approved(world, request)
    await wait_state(world, request.id, "running", timeout=15)
    body = world.run_calls()[before].json
    assert body["scheduleExecutionAfterActiveHours"] is True and body["updateTime"] is None
    started = await _events(world, request.id, "sessions.started")
    assert started[-1]["outcome"] == "scheduled_after_active_hours"
    await world.service.cancel(request.id, world.ws.approver)


# ---- Retry failed and Show log -----------------------------------------------------------------


async def test_retry_failed_runs_exactly_the_failed_computers_once(world: World) -> None:
    ws = world.ws
    targets = computer_ids(world, 3, start=40)
    for failing in targets[:2]:
        world.immy.immybot.script_computer(int(failing), ["Running", "Failed"], failure_message="exit code 1603")
    request = await request_via_modal(world, ws.requester, **{ids.COMPUTERS_BLOCK: targets})
    await _approved(world, request)
    first = await _finished(world, request.id)
    failed = sorted(s.computer_id for s in first.sessions if s.status != "Passed")
    assert set(failed) >= {int(t) for t in targets[:2]}, [(s.computer_id, s.status) for s in first.sessions]
    summary = _summaries(world, first, 1)[0]
    card = first.request_card
    assert card is not None

    # anyone else: refused, audited, nothing started
    runs_before = len(world.run_calls())
    refused = await world.driver.click(ws.other, card.channel, summary.ts, report_ids.RETRY_ACTION)
    assert refused.status == 200
    await world.fake.wait_until(lambda: any("Only the requester or an approver" in e.text
                                            for e in world.fake.ephemerals(ws.other)))
    refusals = await _events(world, request.id, "decision.refused")
    assert refusals and refusals[-1]["actor"] == ws.other and refusals[-1]["outcome"].startswith("retry:")

    # a double click (requester and approver at once) plus a replay: one retry
    clicks = await asyncio.gather(
        world.driver.click(ws.requester, card.channel, summary.ts, report_ids.RETRY_ACTION),
        world.driver.click(ws.approver, card.channel, summary.ts, report_ids.RETRY_ACTION),
        world.driver.click(ws.requester, card.channel, summary.ts, report_ids.RETRY_ACTION),
    )
    assert all(c.status == 200 for c in clicks)
    second = await _finished(world, request.id, attempt=2)
    retry_runs = world.run_calls()[runs_before:]
    assert len(retry_runs) == 1
    body = retry_runs[0].json
    assert sorted(c["computerId"] for c in body["computers"]) == failed
    assert body["sessionGroupId"] == second.session_group_id != first.session_group_id
    assert body["maintenanceParams"] == world.run_calls()[runs_before - 1].json["maintenanceParams"]
    retried = await _events(world, request.id, "request.retried")
    assert len(retried) == 1
    assert retried[0]["actor"] in (ws.requester, ws.approver)
    assert retried[0]["immybot_session_ids"] == [s.session_id for s in second.sessions]
    assert sorted(t["id"] for t in retried[0]["targets"]) == failed
    assert {s.session_id for s in second.sessions}.isdisjoint(s.session_id for s in first.sessions)
    # a new summary, of those computers only
    new_summary = _summaries(world, second, 2)
    assert new_summary and "retry 1" in new_summary[0].text
    assert sorted(s.computer_id for s in second.sessions) == failed
    # the first summary's button again: already used
    await world.driver.click(ws.requester, card.channel, summary.ts, report_ids.RETRY_ACTION)
    await world.fake.wait_until(lambda: any("already retried" in e.text for e in world.fake.ephemerals(ws.requester)))
    assert len(world.run_calls()) == runs_before + 1


async def test_show_log_gives_messages_only_to_the_requester_or_an_approver(world: World) -> None:
    ws = world.ws
    failing = computer_ids(world, 1, start=50)
    world.immy.immybot.script_computer(int(failing[0]), ["Running", "Failed"], failure_message="exit code 1603")
    request = await request_via_modal(world, ws.requester, **{ids.COMPUTERS_BLOCK: failing})
    await _approved(world, request)
    finished = await _finished(world, request.id)
    summary = _summaries(world, finished, 1)[0]
    card = finished.request_card
    assert card is not None
    session_id = finished.sessions[0].session_id
    assert report_ids.log_value(request.id, session_id) in str(summary.blocks)

    await world.driver.click(ws.other, card.channel, summary.ts, report_ids.SHOW_LOG_ACTION)
    await world.fake.wait_until(lambda: any("may see the logs" in e.text for e in world.fake.ephemerals(ws.other)))
    refusals = await _events(world, request.id, "decision.refused")
    assert refusals[-1]["actor"] == ws.other and refusals[-1]["outcome"].startswith("show log")

    for clicker in (ws.requester, ws.approver):
        await world.driver.click(clicker, card.channel, summary.ts, report_ids.SHOW_LOG_ACTION)
        shown = await world.fake.wait_until(
            lambda clicker=clicker: next((e for e in world.fake.ephemerals(clicker)
                                          if f"session {session_id}" in e.text), None))  # fmt: skip
        assert "```" in str(shown.blocks)
    logs_read = world.immy.immybot.requests_to(f"/api/v1/maintenance-sessions/{session_id}/logs", "GET")
    assert len(logs_read) == 2
    # the fake's log carries a secret parameter in parameters, the script, its output and one message
    sent = _everything_sent(world)
    assert SECRET_PARAMETER_VALUE not in sent
    assert "LicenseKey" not in sent


async def test_the_secret_parameter_never_reached_slack(world: World) -> None:
    assert world.fake.calls()  # the module's tests ran against this fake
    assert SECRET_PARAMETER_VALUE not in _everything_sent(world)


async def test_a_long_log_also_goes_to_the_clickers_dm_as_a_file(world: World) -> None:
    ws = world.ws
    failing = computer_ids(world, 1, start=55)
    long_failure = "\n".join(f"installer step {n}: error 0x80070{n:03d}" for n in range(300))
    world.immy.immybot.script_computer(int(failing[0]), ["Running", "Failed"], failure_message=long_failure)
    request = await request_via_modal(world, ws.requester, **{ids.COMPUTERS_BLOCK: failing})
    await _approved(world, request)
    finished = await _finished(world, request.id)
    summary = _summaries(world, finished, 1)[0]
    card = finished.request_card
    assert card is not None
    session_id = finished.sessions[0].session_id
    await world.driver.click(ws.requester, card.channel, summary.ts, report_ids.SHOW_LOG_ACTION)
    shown = await world.fake.wait_until(lambda: next((e for e in world.fake.ephemerals(ws.requester)
                                                      if f"log of session {session_id}" in e.text), None))
    assert "last " in shown.text and "installer step 299" in str(shown.blocks)
    name = report_ids.LOG_FILENAME.format(id=request.id, session=session_id)
    file = await world.fake.wait_until(lambda: next((f for f in world.fake.files.values()
                                                     if f.filename == name and f.shared), None))
    assert "installer step 0:" in file.text and "installer step 299" in file.text
    assert file.channel not in (card.channel, world.ws.approval_channel) and file.thread_ts is None  # the DM
    assert SECRET_PARAMETER_VALUE not in _everything_sent(world)
