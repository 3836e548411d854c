"""Who may decide, deny with a reason, races, stale clicks, and the same buttons on App Home."""

from __future__ import annotations

import asyncio

import pytest

from bot.slack.approvals import ids as approval_ids
from bot.slack.home import ids as home_ids
from tests.slack_e2e.conftest import APPROVE, DENY, DIRECT_APPROVER, World
from tests.slack_e2e.flows import request_via_modal, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _ephemeral_to(world: World, user: str, needle: str) -> None:
    await world.fake.wait_until(lambda: any(needle in e.text for e in world.fake.ephemerals(user)))


async def test_non_approver_is_refused_and_audited(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester)
    card = world.approval_card(request.id)
    delivery = await world.driver.click(world.ws.other, card.channel, card.ts, APPROVE)
    assert delivery.status == 200
    await _ephemeral_to(world, world.ws.other, f"request #{request.id}")
    rows = await world.audit(request_id=request.id)
    assert [r["event"] for r in rows] == ["request.created", "decision.refused"]
    assert rows[-1]["actor"] == world.ws.other
    assert (await world.service.get(request.id)).state.value == "pending"


async def test_self_approval_is_refused(world: World) -> None:
    request = await request_via_modal(world, DIRECT_APPROVER)
    card = world.approval_card(request.id)
    await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
    await _ephemeral_to(world, DIRECT_APPROVER, "own request")
    rows = await world.audit(request_id=request.id)
    assert rows[-1]["event"] == "decision.refused" and rows[-1]["actor"] == DIRECT_APPROVER


async def test_approver_through_a_user_group(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester)
    card = world.approval_card(request.id)
    await world.driver.click(world.ws.approver, card.channel, card.ts, APPROVE)  # bob: only in S0APPROVERS
    decided = await wait_state(world, request.id, "approved", "starting", "running", "finished")
    assert decided.decided_by == world.ws.approver


async def test_deny_with_a_reason(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester)
    card = world.approval_card(request.id)
    before = {v.id for v in world.fake.view_stack(DIRECT_APPROVER)}
    await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, DENY)
    modal = await world.fake.wait_until(
        lambda: next((v for v in world.fake.view_stack(DIRECT_APPROVER) if v.id not in before), None))
    assert modal.view["callback_id"] == approval_ids.DENY_MODAL
    values = {approval_ids.DENY_REASON_BLOCK: {approval_ids.DENY_REASON_ACTION: {
        "type": "plain_text_input", "value": "not on <b>Fridays</b>"}}}
    delivery = await world.driver.submit(DIRECT_APPROVER, modal, values)
    assert delivery.status == 200 and not delivery.text.strip()
    denied = await wait_state(world, request.id, "denied")
    assert denied.decision_reason == "not on <b>Fridays</b>"
    rows = await world.audit(request_id=request.id)
    assert rows[-1]["event"] == "request.denied" and rows[-1]["decision_reason"] == "not on <b>Fridays</b>"
    thread = world.fake.thread(denied.request_card.channel, denied.request_card.ts)
    await world.fake.wait_until(lambda: world.fake.thread(denied.request_card.channel, denied.request_card.ts))
    thread = world.fake.thread(denied.request_card.channel, denied.request_card.ts)
    assert any("Denied by" in m.text and "&lt;b&gt;" in m.text for m in thread)
    updated = world.fake.find_message(card.channel, card.ts)
    assert updated is not None and APPROVE not in str(updated.blocks)


async def test_ten_concurrent_approvals_start_once(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester)
    card = world.approval_card(request.id)
    runs_before = len(world.run_calls())
    clickers = [world.ws.approver, DIRECT_APPROVER] * 5
    deliveries = await asyncio.gather(*(world.driver.click(u, card.channel, card.ts, APPROVE) for u in clickers))
    assert all(d.status == 200 for d in deliveries)
    await wait_state(world, request.id, "running", "finished", timeout=10)
    await asyncio.sleep(0.3)
    assert len(world.run_calls()) == runs_before + 1
    rows = await world.audit(request_id=request.id)
    assert [r["event"] for r in rows].count("request.approved") == 1
    thread = world.fake.thread(request.request_card.channel, request.request_card.ts)
    assert sum("Approved by" in m.text for m in thread) == 1


async def test_stale_click_says_what_happened(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester)
    card = world.approval_card(request.id)
    await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
    await wait_state(world, request.id, "approved", "starting", "running", "finished")
    # bob still has the old card on screen: wait for the bot's edit, then show him the original blocks
    await world.fake.wait_until(lambda: card.history)
    card.blocks = card.history[0]["blocks"]
    await world.driver.click(world.ws.approver, card.channel, card.ts, APPROVE)
    await _ephemeral_to(world, world.ws.approver, "already approved")


async def test_app_home_lists_pending_with_buttons_for_approvers(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester)
    delivery = await world.driver.open_home(DIRECT_APPROVER)
    assert delivery.status == 200
    home = await world.fake.wait_until(lambda: world.fake.home(DIRECT_APPROVER))
    assert f"#{request.id}" in str(home)
    await world.driver.click_in_home(DIRECT_APPROVER, APPROVE, block_id=approval_ids.buttons_block_id(request.id))
    await wait_state(world, request.id, "approved", "starting", "running", "finished")
    await world.fake.wait_until(lambda: approval_ids.buttons_block_id(request.id)
                                not in str(world.fake.home(DIRECT_APPROVER)))
    await world.driver.open_home(world.ws.other)
    other_home = await world.fake.wait_until(lambda: world.fake.home(world.ws.other))
    assert home_ids.PENDING_HEADER_BLOCK not in str(other_home)
