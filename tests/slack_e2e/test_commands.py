"""`/immy status|requests|cancel|audit|help`, the DM fallback for the request card, and expiry."""

from __future__ import annotations

import asyncio

import pytest

from bot.slack.commands import ids as command_ids
from tests.hostile_csv import HOSTILE_CELLS, read_csv
from tests.slack_e2e.conftest import APPROVE, DIRECT_APPROVER, World
from tests.slack_e2e.flows import request_via_modal, wait_state
from tests.workflow.factories import make_draft

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _reply(world: World, user: str, needle: str, timeout: float = 5.0) -> str:  # noqa: ASYNC109
    found = await world.fake.wait_until(
        lambda: next((e for e in reversed(world.fake.ephemerals(user)) if needle in e.text + str(e.blocks)), None),
        timeout=timeout,
    )
    return found.text + str(found.blocks)


async def test_help_and_unknown_subcommands_answer_with_usage(world: World) -> None:
    for text in ("help", "frobnicate now"):
        delivery = await world.driver.slash(world.ws.other, world.ws.ops_channel, text)
        assert delivery.status == 200
        assert "/immy status" in delivery.text
    assert world.fake.latest_view(world.ws.other) is None


async def test_requests_lists_my_requests_with_states(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester)
    delivery = await world.driver.slash(world.ws.requester, world.ws.ops_channel, "requests")
    assert delivery.status == 200 and f"#{request.id}" in delivery.text


async def test_status_exact_partial_and_several(world: World) -> None:
    user = world.ws.other
    await world.driver.slash(user, world.ws.ops_channel, "status CONTOSO-LT-0001")
    text = await _reply(world, user, "CONTOSO-LT-0001")
    assert "Contoso" in text
    await world.driver.slash(user, world.ws.ops_channel, "status CONTOSO-LT")
    listing = await _reply(world, user, "CONTOSO-LT-0002")
    assert "CONTOSO-LT-0001" in listing
    await world.driver.slash(user, world.ws.ops_channel, "status <script>")
    await _reply(world, user, "&lt;script&gt;")


async def test_status_shows_the_computers_last_immybot_session(world: World) -> None:
    """ImmyBot sends a computer's sessions only when asked (`includeSessions=true`): the line would stay
    empty against a real ImmyBot otherwise."""
    request = await request_via_modal(world, world.ws.requester)
    card = world.approval_card(request.id)
    await world.driver.click(world.ws.approver, card.channel, card.ts, APPROVE)
    running = await wait_state(world, request.id, "running", "finished", timeout=15)
    computer = running.targets.computers[0]
    newest = world.immy.immybot.store.for_computer(computer.id)[0].id
    await world.driver.slash(world.ws.other, world.ws.ops_channel, f"status {computer.name}")
    text = await _reply(world, world.ws.other, f"session {newest}")
    assert computer.name in text
    asked = world.immy.immybot.requests_to(f"/api/v1/computers/{computer.id}", "GET")
    assert asked and asked[-1].query.get("includeSessions") == "true"


async def test_cancel_pending_by_requester_and_refusal_for_others(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester)
    await world.driver.slash(world.ws.other, world.ws.ops_channel, f"cancel {request.id}")
    await _reply(world, world.ws.other, f"request #{request.id}")
    assert (await world.service.get(request.id)).state.value == "pending"
    await world.driver.slash(world.ws.requester, world.ws.ops_channel, f"cancel #{request.id}")
    cancelled = await wait_state(world, request.id, "cancelled")
    assert cancelled.cancelled_by == world.ws.requester
    events = [r["event"] for r in await world.audit(request_id=request.id)]
    assert events == ["request.created", "decision.refused", "request.cancelled"]
    await world.driver.slash(world.ws.requester, world.ws.ops_channel, "cancel abc")
    await _reply(world, world.ws.requester, "/immy cancel 42")


async def test_audit_is_for_approvers_and_attaches_the_csv(world: World) -> None:
    await world.driver.slash(world.ws.other, world.ws.ops_channel, "audit")
    await _reply(world, world.ws.other, "Only approvers")
    await request_via_modal(world, world.ws.requester)
    await world.driver.slash(DIRECT_APPROVER, world.ws.ops_channel, f"audit <@{world.ws.requester}|alice> 3")
    await _reply(world, DIRECT_APPROVER, "request.created")
    upload = await world.fake.wait_for("files.completeUploadExternal")
    assert upload.response.get("ok") is True
    files = [f for f in world.fake.files.values() if f.filename == command_ids.AUDIT_CSV_FILENAME]
    await world.fake.wait_until(lambda: files and files[-1].content)
    csv_text = files[-1].content.decode()
    assert csv_text.startswith("id,at,request_id,event,actor,requester")
    assert world.ws.requester in csv_text


async def test_request_card_falls_back_to_dm_when_the_bot_is_not_in_the_channel(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester, channel=world.ws.outside_channel)
    assert request.request_card is not None
    assert request.request_card.channel == world.fake.dm_with(world.ws.requester).id
    assert not world.fake.messages(world.ws.outside_channel)


async def test_no_block_kit_violations(world: World) -> None:
    await asyncio.sleep(0)
    world.fake.assert_clean()


async def test_immybot_down_becomes_a_message_the_user_understands(world: World) -> None:
    from immybot_slack_sandbox.immy_faults import Fault

    faults = world.immy.immybot.faults
    faults.always("/api/v1/computers/*", Fault.html())
    try:
        await world.driver.slash(world.ws.approver, world.ws.ops_channel, "status CONTOSO-LT-0003")
        text = await _reply(world, world.ws.approver, "ImmyBot", timeout=15)
    finally:
        faults.clear()
    assert "nothing was lost" in text
    assert "Traceback" not in text and "html" not in text.lower()


async def test_audit_attachment_is_spreadsheet_safe(world: World) -> None:
    for typed, _ in HOSTILE_CELLS:  # refused submissions keep what was typed in the audit row
        await world.service.refuse(world.ws.other, "test", make_draft(world.ws.other, reason=typed))
    before = set(world.fake.files)
    await world.driver.slash(DIRECT_APPROVER, world.ws.ops_channel, f"audit <@{world.ws.other}>")
    upload = await world.fake.wait_until(
        lambda: next((f for key, f in world.fake.files.items() if key not in before and f.content), None)
    )
    assert upload.filename == command_ids.AUDIT_CSV_FILENAME
    rows = read_csv(upload.content.decode())
    mine = [r for r in rows if r["requester"] == world.ws.other and r["event"] == "request.refused"]
    assert [r["reason"] for r in mine[-len(HOSTILE_CELLS):]] == [shown for _, shown in HOSTILE_CELLS]
    assert len(rows) == len([r for r in await world.audit(actor=world.ws.other)])  # one CSV row per audit row
