"""Previews on the one follower (SPEC §8): a restart carries on, and a preview session is never the run's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.immybot.port import ImmyBotSessions
from bot.workflow.follower import Follower
from bot.workflow.model import Request
from bot.workflow.preview import PreviewState, Verdict
from bot.workflow.previewing import PreviewLedger
from immybot_slack_sandbox import immy_extra_routes
from immybot_slack_sandbox.immy_faults import Fault
from tests.follower.conftest import Rig, post_cards
from tests.workflow.factories import APPROVER


@contextlib.contextmanager
def slow_detection() -> Iterator[None]:
    """The fake's detection-only sessions stay Running until cancelled or set."""
    patch = pytest.MonkeyPatch()
    patch.setattr(immy_extra_routes, "statuses",
                  lambda outcome: ["Created", *["Running"] * 10_000, outcome.session_status])  # fmt: skip
    try:
        yield
    finally:
        patch.undo()


@contextlib.asynccontextmanager
async def previewing_follower(rig: Rig) -> AsyncIterator[Follower]:
    shown: list[Request] = []

    async def show(request: Request) -> None:
        shown.append(request)

    follower = Follower(rig.service, ImmyBotSessions(rig.immy_client), rig.reporter, poll_seconds=0.05,
                        max_wait=rig.follower.max_wait, start_backoff_base=0.05, start_backoff_cap=0.2,
                        preview_ledger=PreviewLedger(rig.store), show_preview=show)  # fmt: skip
    await follower.start()
    try:
        yield follower
    finally:
        await follower.aclose()


async def _until(probe, timeout: float = 15.0):  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not (found := await probe()):  # noqa: ASYNC110 - polling the database, as a person would
            await asyncio.sleep(0.02)
    return found


async def test_a_restart_carries_on_following_the_preview(rig: Rig) -> None:
    computers = rig.computers(3)
    plan = {computers[0].id: "would_install", computers[1].id: "up_to_date", computers[2].id: "would_update"}
    for computer_id, outcome in plan.items():
        rig.fake.script_detection(computer_id, outcome)
    request = await post_cards(rig.service, rig.client, computers)
    with slow_detection():
        async with previewing_follower(rig) as first:
            first.preview_in_background(request.id)
            running = await _until(lambda: _with_preview_sessions(rig, request.id, 3))
        # the first process is gone with its preview mid-way; ImmyBot's detection ends meanwhile
        for session in running.preview_sessions:
            rig.fake.set_session_status(session.session_id, "Passed")
        async with previewing_follower(rig) as second:
            ended = await _until(lambda: _preview_over(rig, request.id))
            await _until(lambda: _is(second.idle))
    assert ended.preview is not None and ended.preview.state is PreviewState.FINISHED
    verdicts = {c.computer_id: c.verdict for c in ended.preview.computers}
    assert verdicts == {computers[0].id: Verdict.INSTALL, computers[1].id: Verdict.NOTHING,
                        computers[2].id: Verdict.UPDATE}  # fmt: skip
    events = [r["event"] for r in await rig.service.audit_rows(request_id=request.id)]
    assert events == ["request.created", "preview.started", "preview.finished"]
    assert ended.state.value == "pending" and ended.sessions == []
    assert len([r for r in rig.run_calls() if r.json.get("detectionOnly")]) == 1


async def test_a_restart_before_the_preview_was_recorded_starts_it_once(rig: Rig) -> None:
    request = await post_cards(rig.service, rig.client, rig.computers(2, offset=3))
    ledger = PreviewLedger(rig.store)
    assert await ledger.begin(request.id) is not None  # the process died before its POST
    async with previewing_follower(rig):
        ended = await _until(lambda: _preview_over(rig, request.id))
    assert ended.preview is not None and ended.preview.state is PreviewState.FINISHED
    assert len([r for r in rig.run_calls() if r.json.get("detectionOnly")]) == 1
    assert await ledger.begin(request.id) is None  # one preview per request, ever


async def test_a_preview_session_answered_as_in_progress_is_never_the_runs(rig: Rig) -> None:
    online = next(i for i, c in enumerate(rig.fake.data.computers) if c.get("isOnline") and i >= 6)
    computers = rig.computers(1, offset=online)
    request = await post_cards(rig.service, rig.client, computers)
    with slow_detection():
        async with previewing_follower(rig) as follower:
            follower.preview_in_background(request.id)
            running = await _until(lambda: _with_preview_sessions(rig, request.id, 1))
            (preview_session,) = running.preview_sessions
            rig.fake.faults.always("/api/v1/maintenance-sessions/*/cancel", Fault.server_error())  # cannot cancel
            await rig.service.approve(request.id, APPROVER)
            follower.start_in_background(request.id)
            await _until(lambda: _is(len(rig.run_calls()) >= 3))  # ImmyBot named the preview's session twice
            rig.fake.faults.clear()
            rig.fake.set_session_status(preview_session.session_id, "Cancelled")
            done = await rig.finished(request.id)
    assert [s.session_id for s in done.sessions] != [preview_session.session_id]
    assert len(done.sessions) == 1 and not done.sessions[0].already_in_progress
    assert done.outcome is not None and done.outcome.value == "passed"
    rows = await rig.service.audit_rows(request_id=request.id)
    started = [r for r in rows if r["event"] == "sessions.started"]
    assert len(started) == 1 and preview_session.session_id not in started[0]["immybot_session_ids"]


async def _with_preview_sessions(rig: Rig, request_id: int, count: int) -> Request | None:
    request = await rig.service.get(request_id)
    return request if len(request.preview_sessions) == count else None


async def _preview_over(rig: Rig, request_id: int) -> Request | None:
    request = await rig.service.get(request_id)
    return request if request.preview and request.preview.state is not PreviewState.RUNNING else None


async def _is(value: bool) -> bool:
    return value


async def test_past_the_details_modal_the_csv_goes_in_the_approval_thread(rig: Rig) -> None:
    from bot.slack.approvals.preview_cards import PreviewCards
    from bot.slack.approvals.preview_views import MODAL_COMPUTERS
    from bot.workflow.preview import ComputerPreview, Preview

    request = await post_cards(rig.service, rig.client, rig.computers(1))
    many = tuple(ComputerPreview(computer_id=i, computer_name=f"=HYPERLINK(\"x\") PC-{i}", verdict=Verdict.INSTALL)
                 for i in range(MODAL_COMPUTERS + 1))  # fmt: skip
    shown = request.model_copy(update={"preview": Preview(state=PreviewState.FINISHED, computers=many)})
    await PreviewCards(rig.client).show(shown)
    card = request.approval_card
    assert card is not None
    (csv,) = [f for f in rig.slack.files.values() if f.shared and f.thread_ts == card.ts]
    assert csv.filename == f"immy-preview-{request.id}.csv" and csv.channel == card.channel
    lines = csv.text.splitlines()
    assert len(lines) == MODAL_COMPUTERS + 2 and "'=HYPERLINK" in lines[1]  # every computer, defused
    assert "All 501 computers" in str(rig.slack.find_message(card.channel, card.ts).blocks)
