"""ImmyBot's dry run on the approval card (SPEC §8), end to end over HTTP against the fakes."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from bot.slack.approvals import ids as approval_ids
from bot.slack.requests import ids
from bot.store.audit_cli import open_readonly, write_export
from bot.workflow import preview_runner
from bot.workflow.model import Request
from bot.workflow.preview import PreviewState, Verdict
from immybot_slack_sandbox import immy_extra_routes
from immybot_slack_sandbox.immy_faults import Fault
from immybot_slack_sandbox.immy_preview import DETECTION_FAILED
from tests.slack_e2e.conftest import APPROVE, DIRECT_APPROVER, World, world_of
from tests.slack_e2e.flows import request_via_modal, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")

RUN = "/api/v1/run-immy-service"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    patch = pytest.MonkeyPatch()
    patch.setattr(preview_runner, "START_BACKOFF_SECONDS", 0.05)  # a preview that cannot start gives up fast
    try:
        async with world_of(tmp_path_factory.mktemp("preview"), max_targets=40, preview_before_approval=True) as built:
            yield built
    finally:
        patch.undo()


@contextlib.contextmanager
def _slow_detection() -> Iterator[None]:
    """The fake's detection-only sessions stay Running until cancelled (a slow instance)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(immy_extra_routes, "statuses", lambda outcome: ["Created", *["Running"] * 10_000,
                                                                   outcome.session_status])
    try:
        yield
    finally:
        patch.undo()


def _previewing(world: World, targets: list[int]) -> bool:
    sessions = world.immy.immybot.sessions.values()
    return sum(1 for s in sessions if s.body.get("detectionOnly") and s.computer["id"] in targets) == len(targets)


def _online(world: World, count: int, *, online: bool = True, skip: int = 0) -> list[int]:
    """Computers no other test of this module used yet (a computer's running session is 'in progress')."""
    found = [c["id"] for c in world.immy.immybot.data.computers if bool(c.get("isOnline")) is online]
    return found[skip:skip + count]


def _run_bodies(world: World, request: Request) -> list[dict[str, Any]]:
    wanted = {str(c) for c in request.targets.computer_ids}
    bodies = [r.json for r in world.run_calls()]
    return [b for b in bodies if {str(c["computerId"]) for c in b["computers"]} & wanted]


async def _preview_ended(world: World, request_id: int, timeout: float = 10.0) -> Request:  # noqa: ASYNC109
    def ended() -> bool:
        card = world.approval_card(request_id)
        return "Preview (ImmyBot's dry run)" in json.dumps(card.blocks) or "could not start" in json.dumps(card.blocks)

    await world.fake.wait_until(ended, timeout=timeout)
    return await world.service.get(request_id)


async def _events(world: World, request_id: int) -> list[str]:
    return [r["event"] for r in await world.audit(request_id=request_id)]


async def test_verdicts_land_on_the_approval_card(world: World) -> None:
    online = _online(world, 3)
    offline = _online(world, 1, online=False)
    plan = {online[0]: "would_install", online[1]: "up_to_date", online[2]: "failed"}
    for computer_id, outcome in plan.items():
        world.immy.immybot.script_detection(computer_id, outcome)
    targets = [str(c) for c in (*online, *offline)]
    request = await request_via_modal(world, world.ws.requester, **{ids.COMPUTERS_BLOCK: targets})
    ended = await _preview_ended(world, request.id)
    assert ended.preview is not None and ended.preview.state is PreviewState.FINISHED
    verdicts = {c.computer_id: c for c in ended.preview.computers}
    assert [verdicts[c].verdict for c in (*online, *offline)] == [
        Verdict.INSTALL, Verdict.NOTHING, Verdict.FAILED, Verdict.OFFLINE]
    assert verdicts[online[2]].reason == DETECTION_FAILED
    card = json.dumps(world.approval_card(request.id).blocks)
    assert "1 would install, 1 already up to date, 1 offline, 1 detection failed" in card
    assert "registry key is denied" in card  # ImmyBot's reason, as it said it
    # the detection-only run: same software, action and computers; suppressed reboots, offline skipped
    (body,) = _run_bodies(world, ended)
    assert body["detectionOnly"] is True
    assert (body["rebootPreference"], body["offlineBehavior"]) == ("Suppress", "Skip")
    assert body["sessionGroupId"] == ended.preview.group_id
    # a preview's end never finishes the request nor writes a summary
    assert ended.state.value == "pending" and ended.sessions == [] and len(ended.preview_sessions) == 4
    rows = await world.audit(request_id=request.id)
    assert [r["event"] for r in rows] == ["request.created", "preview.started", "preview.finished"]
    started, finished = rows[1], rows[2]
    assert sorted(started["immybot_session_ids"]) == sorted(s.session_id for s in ended.preview_sessions)
    assert finished["outcome"].startswith("finished: 1 would install")
    assert started["software"] == {"id": 714, "name": "Google Chrome", "catalog": "Global"}


async def test_approve_during_the_preview_starts_one_real_run(world: World) -> None:
    targets = _online(world, 2, skip=3)
    with _slow_detection():
        request = await request_via_modal(world, world.ws.requester,
                                          **{ids.COMPUTERS_BLOCK: [str(c) for c in targets]})
        await world.fake.wait_until(lambda: _previewing(world, targets))
        card = world.approval_card(request.id)
        await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
        done = await wait_state(world, request.id, "finished", timeout=15.0)
    bodies = _run_bodies(world, done)
    assert [b.get("detectionOnly", False) for b in bodies] == [True, False]  # one preview, one real run
    preview_ids = {s.session_id for s in done.preview_sessions}
    assert len(done.sessions) == 2 and not preview_ids & {s.session_id for s in done.sessions}
    assert not any(s.already_in_progress for s in done.sessions)
    assert {s.status for s in done.preview_sessions} == {"Cancelled"}
    assert done.outcome is not None and done.outcome.value == "passed"
    events = await _events(world, request.id)
    assert events.count("sessions.started") == 1 and events.count("request.finished") == 1
    assert events.index("preview.started") < events.index("request.approved") < events.index("sessions.started")
    ended = await _preview_ended(world, request.id)
    assert ended.preview is not None and ended.preview.state is PreviewState.PARTIAL


async def test_thirty_computers_open_the_details_modal(world: World) -> None:
    targets = [str(c["id"]) for c in world.immy.immybot.data.computers[10:40]]
    request = await request_via_modal(world, world.ws.requester, **{ids.COMPUTERS_BLOCK: targets})
    ended = await _preview_ended(world, request.id, timeout=20.0)
    assert ended.preview is not None and len(ended.preview.computers) == 30
    card = world.approval_card(request.id)
    assert "All 30 computers" in json.dumps(card.blocks)
    before = {v.id for v in world.fake.view_stack(DIRECT_APPROVER)}
    delivery = await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, approval_ids.PREVIEW_DETAILS_ACTION)
    assert delivery.status == 200
    modal = await world.fake.wait_until(
        lambda: next((v for v in world.fake.view_stack(DIRECT_APPROVER) if v.id not in before), None))
    assert modal.view["callback_id"] == approval_ids.PREVIEW_MODAL
    names = [c.computer_name for c in ended.preview.computers]
    assert all(name in json.dumps(modal.view) for name in names)
    world.fake.assert_clean()


async def test_a_preview_that_cannot_start_says_so_once_and_approval_still_works(world: World) -> None:
    world.immy.immybot.faults.always(RUN, Fault.server_error())
    try:
        request = await request_via_modal(world, world.ws.requester,
                                          **{ids.COMPUTERS_BLOCK: [str(world.immy.immybot.data.computers[50]["id"])]})
        ended = await _preview_ended(world, request.id)
    finally:
        world.immy.immybot.faults.clear()
    assert ended.preview is not None and ended.preview.state is PreviewState.UNAVAILABLE
    card = world.approval_card(request.id)
    assert json.dumps(card.blocks).count("could not start") == 1
    assert (await _events(world, request.id))[-1] == "preview.finished"
    await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
    done = await wait_state(world, request.id, "finished", timeout=15.0)
    assert len(done.sessions) == 1 and done.preview_sessions == []
    rows = await world.audit(request_id=request.id)
    assert [r["outcome"] for r in rows if r["event"] == "preview.finished"] == ["unavailable"]


async def test_cancel_during_the_preview_cancels_it(world: World) -> None:
    target = world.immy.immybot.data.computers[45]["id"]
    with _slow_detection():
        request = await request_via_modal(world, world.ws.requester, **{ids.COMPUTERS_BLOCK: [str(target)]})
        await world.fake.wait_until(lambda: _previewing(world, [target]))
        await world.fake.wait_until(lambda: len(_run_bodies(world, request)) == 1)
        await world.driver.slash(world.ws.requester, world.ws.ops_channel, f"cancel {request.id}")
        await wait_state(world, request.id, "cancelled")
        ended = await _preview_ended(world, request.id)
    assert ended.preview is not None and ended.preview.state is PreviewState.PARTIAL
    assert {s.status for s in ended.preview_sessions} == {"Cancelled"}
    assert len(_run_bodies(world, ended)) == 1  # the preview only: nothing ran for real


async def test_audit_export_shows_the_preview_rows(world: World) -> None:
    conn = await open_readonly(world.settings.audit_db)
    try:
        out = io.StringIO()
        await write_export(conn, out, "jsonl")
    finally:
        await conn.close()
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    previews = [r for r in rows if r["event"].startswith("preview.")]
    assert {r["event"] for r in previews} == {"preview.started", "preview.finished"}
    assert all(set(r) >= {"request_id", "actor", "software", "action", "targets", "immybot_session_ids", "outcome",
                          "prev_hash", "hash"} for r in previews)
    assert all(r["actor"] == "system" and r["immybot_session_ids"] is not None for r in previews)
