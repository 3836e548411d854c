"""Scheduling, run-immy-service-new, detection-only verdicts and session logs: the client against the
fake ImmyBot over real HTTP (SPEC §7–§8). The fake's clock is driven, never slept on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.immybot.client import ImmyBotClient
from bot.immybot.models import MaintenanceSession
from bot.immybot.port import ImmyBotSessions
from bot.workflow.model import Catalog, DesiredState, OfflineBehavior, RunOptions, SessionInfo, Software
from bot.workflow.preview import ComputerPreview, Verdict, computer_preview, summary_line
from bot.workflow.schedule import Schedule
from immybot_slack_sandbox.immy_logs import SECRET_PARAMETER_VALUE
from immybot_slack_sandbox.immy_preview import DETECTION_FAILED
from immybot_slack_sandbox.immy_sandbox import ImmySandbox

CHROME = Software(id=714, name="Google Chrome", catalog=Catalog.GLOBAL)
NOON_UTC = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)  # 14:00 in Paris (CEST)


def _computers(immy: ImmySandbox, online: bool, count: int) -> list[int]:
    return [c["id"] for c in immy.immybot.data.computers if bool(c["isOnline"]) is online][:count]


async def _until_terminal(client: ImmyBotClient, session_id: int, reads: int = 10) -> MaintenanceSession:
    for _ in range(reads):
        session = await client.get_session(session_id)
        if session.status in ("Passed", "Failed", "Cancelled", "PartialPassed"):
            return session
    raise AssertionError(f"session {session_id} still {session.status} after {reads} reads")


async def test_run_new_answers_no_ids_and_the_sessions_are_found_by_group(
    immy: ImmySandbox, immy_client: ImmyBotClient
) -> None:
    computers, group = _computers(immy, True, 3), str(uuid.uuid4())
    other = str(uuid.uuid4())  # an earlier run on the same computers must not be mistaken for ours
    await immy_client.run_immy_service(computer_ids=computers[:1], software=CHROME, action=DesiredState.LATEST,
                                       options=RunOptions(), session_group_id=other)  # fmt: skip
    await _until_terminal(immy_client, max(immy.immybot.sessions))
    answer = await immy_client.run_immy_service_new(
        computer_ids=computers, software=CHROME, action=DesiredState.LATEST, options=RunOptions(),
        session_group_id=group, schedule=Schedule.at_time("18:30", "Europe/Paris"),
    )  # fmt: skip
    assert answer is None
    sent = immy.immybot.requests_to("/api/v1/run-immy-service-new", "POST")[-1].json
    assert (sent["updateTime"], sent["timeZoneInfoId"], sent["sessionGroupId"]) == ("18:30", "Europe/Paris", group)
    assert not immy.immybot.invalid_bodies
    found = await immy_client.find_group_sessions([*computers, computers[0]], group)
    assert sorted(found) == sorted(computers)
    for computer_id, sessions in found.items():
        assert len(sessions) == 1 and sessions[0].computer_id == computer_id
        assert sessions[0].session_group_id == group


async def test_a_timed_run_is_refused_by_run_immy_service(immy_client: ImmyBotClient) -> None:
    with pytest.raises(ValueError, match="run_immy_service_new"):
        await immy_client.run_immy_service(computer_ids=[1], software=CHROME, action=DesiredState.LATEST,
                                           options=RunOptions(), session_group_id=str(uuid.uuid4()),
                                           schedule=Schedule.at_time("18:30", "UTC"))  # fmt: skip


async def test_a_timed_session_waits_until_its_time_then_runs(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.clock.set(NOON_UTC)
    computer, group = _computers(immy, True, 1)[0], str(uuid.uuid4())
    schedule = Schedule.at_time("18:30", "Europe/Paris")
    await immy_client.run_immy_service_new(computer_ids=[computer], software=CHROME, action=DesiredState.LATEST,
                                           options=RunOptions(), session_group_id=group, schedule=schedule)  # fmt: skip
    (session,) = (await immy_client.find_group_sessions([computer], group))[computer]
    fake = immy.immybot.session(session.id)
    assert fake.due == datetime(2026, 3, 30, 16, 30, tzinfo=UTC) == schedule.next_run(NOON_UTC)
    for _ in range(5):  # read as often as a follower likes: it does not start early
        assert (await immy_client.get_session(session.id)).status == "Created"
    immy.immybot.clock.set(datetime(2026, 3, 30, 16, 30, tzinfo=UTC))
    assert (await _until_terminal(immy_client, session.id)).status == "Passed"


async def test_a_time_already_past_means_tomorrow(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.clock.set(NOON_UTC)
    computer, group = _computers(immy, True, 1)[0], str(uuid.uuid4())
    schedule = Schedule.at_time("09:15", "America/New_York")  # 08:00 in New York now: later today
    await immy_client.run_immy_service_new(computer_ids=[computer], software=CHROME, action=DesiredState.LATEST,
                                           options=RunOptions(), session_group_id=group, schedule=schedule)  # fmt: skip
    assert immy.immybot.sessions[max(immy.immybot.sessions)].due == datetime(2026, 3, 30, 13, 15, tzinfo=UTC)
    past = Schedule.at_time("07:00", "America/New_York")
    assert past.next_run(NOON_UTC) == datetime(2026, 3, 31, 11, 0, tzinfo=UTC)
    immy.immybot.store.set_status(max(immy.immybot.sessions), "Cancelled")
    await immy_client.run_immy_service_new(computer_ids=[computer], software=CHROME, action=DesiredState.LATEST,
                                           options=RunOptions(), session_group_id=str(uuid.uuid4()),
                                           schedule=past)  # fmt: skip
    assert immy.immybot.sessions[max(immy.immybot.sessions)].due == past.next_run(NOON_UTC)


async def test_after_hours_sessions_are_pending_until_active_hours_end(
    immy: ImmySandbox, immy_client: ImmyBotClient
) -> None:
    immy.immybot.clock.set(NOON_UTC)
    computer = _computers(immy, True, 1)[0]
    result = await immy_client.run_immy_service(
        computer_ids=[computer], software=CHROME, action=DesiredState.LATEST, options=RunOptions(),
        session_group_id=str(uuid.uuid4()), schedule=Schedule.after_hours(),
    )  # fmt: skip
    (session_id,) = result.session_ids
    assert immy.immybot.requests_to("/api/v1/run-immy-service")[-1].json["scheduleExecutionAfterActiveHours"] is True
    assert (await immy_client.get_session(session_id)).status == "Pending"
    assert (await immy_client.get_session(session_id)).status == "Pending"
    immy.immybot.clock.advance(hours=6)  # 18:00 UTC: the fake's active hours end
    assert (await _until_terminal(immy_client, session_id)).status == "Passed"


async def test_detection_only_reports_what_immybot_would_do_per_computer(
    immy: ImmySandbox, immy_client: ImmyBotClient
) -> None:
    online, offline = _computers(immy, True, 4), _computers(immy, False, 1)
    plan = {online[0]: "would_install", online[1]: "up_to_date", online[2]: "would_update", online[3]: "failed"}
    for computer_id, outcome in plan.items():
        immy.immybot.script_detection(computer_id, outcome)
    result = await immy_client.run_immy_service(
        computer_ids=[*online, *offline], software=CHROME, action=DesiredState.LATEST,
        options=RunOptions(preview=True, offline=OfflineBehavior.SKIP), session_group_id=str(uuid.uuid4()),
    )  # fmt: skip
    assert immy.immybot.requests_to("/api/v1/run-immy-service")[-1].json["detectionOnly"] is True
    port = ImmyBotSessions(immy_client)  # the adapter hands plain facts over; the domain gives the verdict

    async def verdict(session_id: int, status: str) -> ComputerPreview:
        session = SessionInfo(session_id=session_id, computer_id=sessions[session_id], status=status)
        return computer_preview(await port.preview_facts(session, CHROME, f"PC {sessions[session_id]}"))

    sessions = {s.session_id: s.computer_id for s in result.started}
    first = result.session_ids[0]
    assert (await verdict(first, "Created")).verdict is Verdict.PENDING  # still detecting
    verdicts = {}
    for session_id in result.session_ids:
        done = await _until_terminal(immy_client, session_id)
        found = await verdict(session_id, done.status)
        verdicts[found.computer_id] = found
    assert verdicts[online[0]].verdict is Verdict.INSTALL and verdicts[online[0]].detected_version is None
    assert verdicts[online[1]].verdict is Verdict.NOTHING
    assert verdicts[online[1]].detected_version == verdicts[online[1]].desired_version
    update = verdicts[online[2]]
    assert update.verdict is Verdict.UPDATE and update.detected_version and update.desired_version
    assert (verdicts[online[3]].verdict, verdicts[online[3]].reason) == (Verdict.FAILED, DETECTION_FAILED)
    assert verdicts[offline[0]].verdict is Verdict.OFFLINE
    assert summary_line(verdicts.values()) == (
        "1 would install, 1 would update, 1 already up to date, 1 offline, 1 detection failed")


async def test_session_log_lines_are_messages_only_and_never_carry_a_parameter(
    immy: ImmySandbox, immy_client: ImmyBotClient
) -> None:
    computer = _computers(immy, True, 1)[0]
    immy.immybot.script_computer(computer, ["Created", "Running", "Failed"], "The installer exited with 1603.")
    result = await immy_client.run_immy_service(computer_ids=[computer], software=CHROME, action=DesiredState.LATEST,
                                                options=RunOptions(), session_group_id=str(uuid.uuid4()))  # fmt: skip
    (session_id,) = result.session_ids
    await _until_terminal(immy_client, session_id)
    lines = await immy_client.session_log_lines(session_id, last=50)
    assert lines and SECRET_PARAMETER_VALUE not in repr(lines)
    assert SECRET_PARAMETER_VALUE not in "".join(line.model_dump_json() for line in lines)
    assert lines[-1].level == "Error" and lines[-1].message == "The installer exited with 1603."
    assert any("••••" in line.message for line in lines)  # the command line echoed it: masked
    assert all(set(line.model_dump()) == {"time", "level", "message"} for line in lines)
    assert [line.time for line in lines] == sorted(line.time or "" for line in lines)
    assert len(await immy_client.session_log_lines(session_id, last=2)) == 2
    assert (await immy_client.session_log_lines(session_id, last=2))[-1] == lines[-1]


async def test_the_fake_logs_do_carry_the_secret(immy: ImmySandbox, immy_settings: Any) -> None:
    """Guard for the test above: what the client drops is really in ImmyBot's answer."""
    import httpx

    computer = _computers(immy, True, 1)[0]
    async with ImmyBotClient(immy_settings) as client:
        result = await client.run_immy_service(computer_ids=[computer], software=CHROME, action=DesiredState.LATEST,
                                               options=RunOptions(), session_group_id=str(uuid.uuid4()))  # fmt: skip
        await _until_terminal(client, result.session_ids[0])
        token = await client.token()
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{immy.base_url}/api/v1/maintenance-sessions/{result.session_ids[0]}/logs",
                                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert SECRET_PARAMETER_VALUE in answer.text
