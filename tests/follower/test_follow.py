"""End to end: approve → run-immy-service once → follow → one status message → one summary reply."""

from __future__ import annotations

import asyncio

import pytest

from bot.workflow.model import TIMED_OUT, OfflineBehavior, Outcome, RequestState
from tests.follower.conftest import Rig
from tests.workflow.factories import APPROVER, REQUESTER


async def audit_events(rig: Rig, request_id: int) -> list[dict]:
    return await rig.service.audit_rows(request_id=request_id)


async def test_sessions_pass_fail_partial_and_summary_posted_once(rig: Rig) -> None:
    a, b, c = rig.computers(3)
    rig.fake.script_computer(a.id, ["Created", "Running", "Passed"])
    rig.fake.script_computer(b.id, ["Created", "Pending", "Running", "Failed"], "Installer exit 1603")
    rig.fake.script_computer(c.id, ["Running", "PartialPassed"])
    request = await rig.approved([a, b, c])

    done = await rig.finished(request.id)

    assert done.outcome is Outcome.PARTIAL
    assert {s.status for s in done.sessions} == {"Passed", "Failed", "PartialPassed"}
    assert len(rig.run_calls()) == 1
    body = rig.run_calls()[0].json
    assert body["sessionGroupId"] == done.session_group_id
    assert [t["computerId"] for t in body["computers"]] == [a.id, b.id, c.id]

    summaries = rig.summaries(done)
    assert len(summaries) == 1
    summary = str(summaries[0].blocks) + summaries[0].text
    assert f"<@{REQUESTER}>" in summary
    assert "1 passed" in summary and "1 failed" in summary
    for computer, session in zip((a, b, c), done.sessions, strict=True):
        assert computer.name in summary
        assert f"{rig.immy.base_url}/computers/{computer.id}" in summary
        assert str(session.session_id) in summary
    assert "Installer exit 1603" in summary
    assert "Install" in summary and "124.0.6367.61" in summary

    # one status message, edited in place; the summary is a new reply, not an edit
    status = [m for m in rig.thread(done) if m not in summaries]
    assert len(status) == 1 and status[0].edited
    assert done.status_message is not None and done.status_message.ts == status[0].ts
    assert "3 of 3 sessions done" in status[0].text
    assert not summaries[0].edited

    # both cards now show the outcome
    card, approval = done.request_card, done.approval_card
    assert card is not None and approval is not None
    updates = {c.params["ts"] for c in rig.slack.calls("chat.update")}
    assert card.ts in updates and approval.ts in updates
    assert "finished: partly passed" in rig.slack.find_message(card.channel, card.ts).text

    events = [r["event"] for r in await audit_events(rig, request.id)]
    assert events.count("sessions.started") == 1
    assert events.count("session.finished") == 3
    assert events.count("request.finished") == 1
    assert events.index("sessions.started") < events.index("session.finished") < events.index("request.finished")
    started = next(r for r in await audit_events(rig, request.id) if r["event"] == "sessions.started")
    assert sorted(started["immybot_session_ids"]) == sorted(s.session_id for s in done.sessions)


@pytest.mark.parametrize("follower_options", [{"max_wait": __import__("datetime").timedelta(seconds=1.0)}])
async def test_session_waiting_past_max_wait_is_timed_out(rig: Rig) -> None:
    a, b = rig.computers(2)
    rig.fake.script_computer(a.id, ["Created", "PendingConnectivity"])
    rig.fake.script_computer(b.id, ["Running", "Passed"])
    request = await rig.approved([a, b], offline=OfflineBehavior.APPLY_ON_CONNECT)

    done = await rig.finished(request.id)

    statuses = {s.computer_id: s.status for s in done.sessions}
    assert statuses == {a.id: TIMED_OUT, b.id: "Passed"}
    assert done.outcome is Outcome.TIMED_OUT
    assert "timed out" in rig.summaries(done)[0].text
    finished = [r for r in await audit_events(rig, request.id) if r["event"] == "session.finished"]
    assert sorted(r["outcome"] for r in finished) == ["Passed", TIMED_OUT]


async def test_already_in_progress_session_is_followed_and_said(rig: Rig) -> None:
    a, b = rig.computers(2)
    rig.fake.script_computer(a.id, ["Running", "Running", "Running", "Passed"])
    earlier = await rig.immy_client.run_immy_service(
        computer_ids=[a.id],
        software=__import__("tests.follower.conftest", fromlist=["CHROME"]).CHROME,
        action=__import__("bot.workflow.model", fromlist=["DesiredState"]).DesiredState.LATEST,
        options=__import__("bot.workflow.model", fromlist=["RunOptions"]).RunOptions(),
        session_group_id="00000000-0000-4000-8000-000000000001",
    )
    existing = earlier.started[0].session_id
    rig.fake.script_computer(b.id, ["Created", "Passed"])
    request = await rig.approved([a, b])

    done = await rig.finished(request.id)

    followed = {s.computer_id: s for s in done.sessions}
    assert followed[a.id].session_id == existing and followed[a.id].already_in_progress
    assert not followed[b.id].already_in_progress
    assert len(rig.sessions_of(a.id)) == 1  # no second session was started on it
    assert done.outcome is Outcome.PASSED
    assert "already in progress" in str(rig.summaries(done)[0].blocks)
    assert any("already in progress" in str(h) for m in rig.thread(done) for h in m.history)


async def test_cancel_while_running_cancels_sessions_and_reports_cancelled(rig: Rig) -> None:
    a, b = rig.computers(2)
    rig.fake.script_computer(a.id, ["Running"] * 1000)
    rig.fake.script_computer(b.id, ["Running", "Passed"])
    request = await rig.approved([a, b])
    running = await rig.slack.wait_until(
        lambda: rig.fake.session(rig.sessions_of(a.id)[0].id).step >= 2 if rig.sessions_of(a.id) else None
    )
    assert running

    await rig.service.cancel(request.id, APPROVER)
    await rig.follower.cancel(request.id)
    done = await rig.finished(request.id)

    assert done.outcome is Outcome.CANCELLED
    session_a = rig.sessions_of(a.id)[0]
    assert rig.fake.requests_to(f"/api/v1/maintenance-sessions/{session_a.id}/cancel")
    assert {s.computer_id: s.status for s in done.sessions}[a.id] == "Cancelled"
    assert len(rig.summaries(done)) == 1
    outcome = [r for r in await audit_events(rig, request.id) if r["event"] == "request.finished"]
    assert [r["outcome"] for r in outcome] == ["cancelled"]


async def test_cancel_while_starting_stops_the_retries(rig: Rig) -> None:
    from immybot_slack_sandbox.immy_faults import Fault

    rig.fake.faults.always("/api/v1/run-immy-service", Fault.server_error(503))
    a = rig.computers(1)[0]
    request = await rig.approved([a])
    await rig.slack.wait_until(lambda: len(rig.run_calls()) >= 2)
    await rig.service.cancel(request.id, APPROVER)
    await rig.follower.cancel(request.id)
    await rig.slack.wait_until(lambda: rig.follower.idle, timeout=5)
    calls = len(rig.run_calls())
    await asyncio.sleep(0.5)
    assert len(rig.run_calls()) == calls
    assert (await rig.service.get(request.id)).state is RequestState.CANCELLED
