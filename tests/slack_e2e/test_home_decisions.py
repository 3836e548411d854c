"""Issue 10, item 1: each App Home button decides the request it shows (SPEC §5, last bullet).

App Home keeps one view id however often it is republished, so a click must be told apart by its
own identity: approving #a then #b from Home approves both, a refusal on one never carries over to
another, and a thread hears "Approved" only when its request really was approved.
"""

from __future__ import annotations

import pytest

from bot.slack.approvals import ids as approval_ids
from tests.slack_e2e.conftest import APPROVE, DIRECT_APPROVER, World
from tests.slack_e2e.flows import request_via_modal, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")

DECIDED = ("approved", "starting", "running", "finished")


async def _home_shows(world: World, user: str, request_id: int, *, buttons: bool) -> None:
    block = approval_ids.buttons_block_id(request_id)
    await world.fake.wait_until(lambda: (block in str(world.fake.home(user))) is buttons)


async def _approvals_in_thread(world: World, request_id: int, *, wait_for: int | None = None) -> int:
    """How many "Approved by" replies the request's thread holds (first waiting for `wait_for` of them)."""
    card = (await world.service.get(request_id)).request_card
    assert card is not None

    def count() -> int:
        return sum("Approved by" in m.text for m in world.fake.thread(card.channel, card.ts))

    if wait_for is not None:
        await world.fake.wait_until(lambda: count() >= wait_for)
    return count()


async def test_two_home_approvals_in_a_row_decide_both(world: World) -> None:
    first = await request_via_modal(world, world.ws.requester)
    second = await request_via_modal(world, world.ws.requester)
    await world.driver.open_home(DIRECT_APPROVER)
    await _home_shows(world, DIRECT_APPROVER, second.id, buttons=True)
    home_id = world.fake.homes[DIRECT_APPROVER].id

    await world.driver.click_in_home(DIRECT_APPROVER, APPROVE, block_id=approval_ids.buttons_block_id(first.id))
    await wait_state(world, first.id, *DECIDED)
    await _home_shows(world, DIRECT_APPROVER, first.id, buttons=False)  # republished after the decision
    assert world.fake.homes[DIRECT_APPROVER].id == home_id  # same view id: what made the old key collide

    await world.driver.click_in_home(DIRECT_APPROVER, APPROVE, block_id=approval_ids.buttons_block_id(second.id))
    decided = await wait_state(world, second.id, *DECIDED)
    assert decided.decided_by == DIRECT_APPROVER
    rows = await world.audit(request_id=second.id)
    assert [r["event"] for r in rows].count("request.approved") == 1
    assert await _approvals_in_thread(world, first.id, wait_for=1) == 1
    assert await _approvals_in_thread(world, second.id, wait_for=1) == 1


async def test_a_refused_home_click_does_not_carry_over(world: World) -> None:
    own = await request_via_modal(world, DIRECT_APPROVER)  # dave may not approve his own request
    other = await request_via_modal(world, world.ws.requester)
    await world.driver.open_home(DIRECT_APPROVER)
    await _home_shows(world, DIRECT_APPROVER, other.id, buttons=True)

    await world.driver.click_in_home(DIRECT_APPROVER, APPROVE, block_id=approval_ids.buttons_block_id(own.id))
    refused = await world.fake.wait_until(
        lambda: [r for r in world.fake.messages(world.fake.dm_with(DIRECT_APPROVER).id) if f"#{own.id}" in r.text])
    assert "own request" in refused[-1].text
    assert (await world.service.get(own.id)).state.value == "pending"

    await world.driver.click_in_home(DIRECT_APPROVER, APPROVE, block_id=approval_ids.buttons_block_id(other.id))
    decided = await wait_state(world, other.id, *DECIDED)
    assert decided.decided_by == DIRECT_APPROVER
    assert [r["event"] for r in await world.audit(request_id=other.id)].count("decision.refused") == 0
    # and the refused request's thread never heard of an approval
    assert await _approvals_in_thread(world, own.id) == 0
