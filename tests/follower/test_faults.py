"""ImmyBot faults during start and polling, edit throttling, whitelisting, restarts, long summaries."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from bot.immybot.port import ImmyBotSessions
from bot.slack.reports.reporter import SlackReporter
from bot.workflow.follower import Follower
from bot.workflow.model import MessageRef, Outcome
from immybot_slack_sandbox.immy_faults import Fault
from immybot_slack_sandbox.immy_sessions import FakeSession
from tests.follower.conftest import Rig
from tests.hostile_csv import HOSTILE_CELLS, read_csv

RUN = "/api/v1/run-immy-service"
SESSIONS = "/api/v1/maintenance-sessions/*"


def unavailable_said(rig: Rig) -> int:
    sent = rig.slack.calls("chat.postMessage") + rig.slack.calls("chat.update")
    return sum("ImmyBot is unavailable" in str(c.params.get("text")) for c in sent)


@pytest.mark.parametrize(
    "faults",
    [
        [Fault.rate_limited("0")] * 3,
        [Fault.server_error()] * 3,
        [Fault.html()] * 3,
        [Fault.rate_limited("0"), Fault.server_error(502), Fault.html()],
    ],
    ids=["429", "500", "html", "mixed"],
)
async def test_faults_on_start_are_retried_said_once_and_start_exactly_once(rig: Rig, faults: list[Fault]) -> None:
    for fault in faults:
        rig.fake.faults.next(RUN, fault, times=2)  # the client retries a 429 once itself
    a, b = rig.computers(2)
    rig.fake.script_computer(a.id, ["Created", "Passed"])
    rig.fake.script_computer(b.id, ["Created", "Passed"])
    request = await rig.approved([a, b])

    done = await rig.finished(request.id)

    assert done.outcome is Outcome.PASSED
    assert len(rig.run_calls()) > 1  # it was retried
    assert unavailable_said(rig) == 1
    for computer in (a, b):
        assert len(rig.sessions_of(computer.id)) == 1
    assert len(rig.summaries(done)) == 1
    events = [r["event"] for r in await rig.service.audit_rows(request_id=request.id)]
    assert events.count("sessions.started") == 1


async def test_a_post_that_started_sessions_but_failed_is_not_sent_again(rig: Rig) -> None:
    """A 500 AFTER ImmyBot started the sessions: the retry finds them by group id and sends nothing."""
    a, b = rig.computers(2)
    rig.fake.script_computer(a.id, ["Created", "Passed"])
    rig.fake.script_computer(b.id, ["Created", "Passed"])
    app = rig.fake.app
    failed_once: list[bool] = []

    async def started_then_500(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("path") == RUN and not failed_once:
            failed_once.append(True)

            async def swallow(message: dict) -> None:
                return None

            await app(scope, receive, swallow)  # ImmyBot starts the sessions…
            await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"upstream reset"})  # …but we see a 500
            return
        await app(scope, receive, send)

    rig.fake.app = started_then_500
    request = await rig.approved([a, b])
    done = await rig.finished(request.id)

    assert len(rig.run_calls()) == 1
    assert rig.fake.requests_to("/api/v1/maintenance-sessions/dx")
    assert {s.computer_id for s in done.sessions} == {a.id, b.id}
    for computer in (a, b):
        assert len(rig.sessions_of(computer.id)) == 1
    assert done.outcome is Outcome.PASSED


async def test_faults_while_polling_are_retried_and_nothing_is_lost(rig: Rig) -> None:
    a, b = rig.computers(2)
    rig.fake.script_computer(a.id, ["Created", "Running", "Passed"])
    rig.fake.script_computer(b.id, ["Created", "Running", "Failed"])
    request = await rig.approved([a, b])
    await rig.slack.wait_until(lambda: len(rig.fake.requests_to(SESSIONS, "GET")) >= 1)
    rig.fake.faults.next(SESSIONS, Fault.rate_limited("0"), times=3)
    rig.fake.faults.next(SESSIONS, Fault.server_error(), times=3)
    rig.fake.faults.next(SESSIONS, Fault.html(), times=2)
    rig.fake.faults.next("/api/v1/maintenance-actions/dx", Fault.server_error(), times=2)

    done = await rig.finished(request.id)

    assert {s.computer_id: s.status for s in done.sessions} == {a.id: "Passed", b.id: "Failed"}
    assert done.outcome is Outcome.PARTIAL
    assert len(rig.summaries(done)) == 1
    assert unavailable_said(rig) == 0


@pytest.mark.parametrize("follower_options", [{"min_edit_interval": 2.0, "poll_seconds": 0.05}])
async def test_status_message_is_edited_at_most_once_every_two_seconds(rig: Rig) -> None:
    computers = rig.computers(6)
    for n, computer in enumerate(computers):
        rig.fake.script_computer(computer.id, ["Created", *["Running"] * (10 + 8 * n), "Passed"])
    request = await rig.approved(computers)

    done = await rig.finished(request.id, timeout=30)

    by_ts: dict[str, list[float]] = defaultdict(list)
    for call in rig.slack.calls("chat.postMessage") + rig.slack.calls("chat.update"):
        ts = call.params.get("ts") or call.response.get("ts")
        by_ts[ts].append(call.at)
    status_ts = done.status_message.ts if done.status_message else ""
    times = sorted(by_ts[status_ts])
    assert len(times) >= 3  # it was edited along the way
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 1.95, gaps
    final = rig.slack.find_message(done.status_message.channel, status_ts)
    assert "6 of 6 sessions done" in final.text  # the last state was not dropped


SECRET = "hunter2-SUPER-secret-value"


async def test_only_whitelisted_fields_reach_slack(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    real_payload, real_action = FakeSession.payload, FakeSession.action

    def payload(self: FakeSession, shaper: Any = None, *, include_actions: bool = False) -> dict[str, Any]:
        data = real_payload(self, shaper, include_actions=include_actions)
        data["sessionJobArgs"]["maintenanceItem"] = {
            "details": {"taskConfigurationDetails": {"taskParameterValues": {"ApiKey": {"value": SECRET}}}}
        }
        data["logs"] = [{"message": f"Running with -Password {SECRET}", "scriptParameters": {"Password": SECRET}}]
        return data

    def action(self: FakeSession) -> dict[str, Any]:
        data = real_action(self)
        data["taskParameterValues"] = {"Password": {"value": SECRET}}
        data["scriptParameters"] = f"-Token {SECRET}"
        data["description"] = f"param {SECRET}"
        return data

    monkeypatch.setattr(FakeSession, "payload", payload)
    monkeypatch.setattr(FakeSession, "action", action)
    a, b = rig.computers(2)
    rig.fake.script_computer(a.id, ["Created", "Passed"])
    rig.fake.script_computer(b.id, ["Created", "Failed"])
    request = await rig.approved([a, b])
    done = await rig.finished(request.id)

    assert done.outcome is Outcome.PARTIAL
    assert rig.fake.requests_to("/api/v1/maintenance-actions/dx")
    assert SECRET not in rig.slack_texts()


async def test_restart_resumes_sessions_and_edits_the_same_status_message(rig: Rig) -> None:
    a, b = rig.computers(2)
    rig.fake.script_computer(a.id, ["Created", *["Running"] * 30, "Passed"])
    rig.fake.script_computer(b.id, ["Created", *["Running"] * 30, "Failed"])
    request = await rig.approved([a, b])
    await rig.slack.wait_until(lambda: len(rig.fake.requests_to(SESSIONS, "GET")) >= 6)
    await rig.slack.wait_until(lambda: len(rig.thread(request)) == 1, timeout=5)
    await rig.follower.aclose()  # the bot stops mid-flight
    await rig.reporter.aclose()

    async def save(request_id: int, ref: MessageRef) -> None:
        await rig.service.set_cards(request_id, status_message=ref)

    reporter = SlackReporter(rig.client, base_url=rig.immy.base_url, save_status_message=save, min_edit_interval=0.3)
    again = Follower(rig.service, ImmyBotSessions(rig.immy_client), reporter, poll_seconds=0.05,
                     max_wait=timedelta(seconds=30))  # fmt: skip
    await again.start()
    rig.follower, rig.reporter = again, reporter  # rig.finished waits for the live bot to be idle
    try:
        done = await rig.finished(request.id)
    finally:
        await again.aclose()
    assert done.outcome is Outcome.PARTIAL
    assert len(rig.run_calls()) == 1
    assert len(rig.summaries(done)) == 1
    assert len(rig.thread(done)) == 2  # the same status message + the summary


async def test_more_than_forty_computers_attach_a_csv(rig: Rig) -> None:
    computers = rig.computers(45)
    for computer in computers:
        rig.fake.script_computer(computer.id, ["Created", "Passed"])
    request = await rig.approved(computers)

    done = await rig.finished(request.id, timeout=30)

    assert done.outcome is Outcome.PASSED
    summaries = rig.summaries(done)
    assert len(summaries) == 1 and len(summaries[0].blocks) <= 50
    files = rig.shared_files(done)  # a file record exists from files.getUploadURLExternal on, bytes or not
    assert len(files) == 1 and len(rig.slack.files) == 1
    csv = files[0].text
    assert csv.count("\n") == 46 and all(c.name in csv for c in computers)


async def test_the_summary_csv_is_spreadsheet_safe(rig: Rig) -> None:
    computers = rig.computers(45)
    hostile = dict(zip((c.id for c in computers), HOSTILE_CELLS, strict=False))
    for computer in computers:
        if computer.id in hostile:
            rig.fake.script_computer(computer.id, ["Created", "Failed"], failure_message=hostile[computer.id][0])
        else:
            rig.fake.script_computer(computer.id, ["Created", "Passed"])
    request = await rig.approved(computers)

    done = await rig.finished(request.id, timeout=30)

    [attached] = rig.shared_files(done)
    rows = read_csv(attached.text)
    assert len(rows) == 45  # one row per computer: nothing typed split or merged a row
    reasons = {int(row["computer_id"]): row["failure_reason"] for row in rows}
    assert {cid: reasons[cid] for cid in hostile} == {cid: shown for cid, (_, shown) in hostile.items()}
