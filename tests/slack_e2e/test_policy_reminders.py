"""Issue 12 (SPEC §6) over HTTP: reminders then escalation in the approval card's thread, a rule's own
approval time and self-approval."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.slack_e2e.conftest import APPROVE, World, world_of
from tests.slack_e2e.flows import request_via_modal, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")

ERIN, FRANK = "U0ERIN", "U0FRANK"
SEVEN_ZIP = "Global:1"
POLICY = """\
rules:
  - name: quick zip
    when: {software: ["7-Zip"]}
    ttl_hours: 0.0005
  - name: leads decide
    approvers: [U0ERIN, S0APPROVERS]
    allow_self_approval: true
reminders:
  after_minutes: 0.01
  repeat: 2
  escalate_to: [U0FRANK]
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder = tmp_path_factory.mktemp("reminders")
    (folder / "policy.yml").write_text(POLICY)
    async with world_of(folder, policy_file=folder / "policy.yml") as built:
        for user, name in ((ERIN, "erin"), (FRANK, "frank")):
            built.fake.add_user(user, name, real_name=name.title(), email=f"{name}@example.com")
            built.fake.channels[built.ws.approval_channel].members.add(user)
        yield built


def _approval_thread(world: World, request_id: int) -> list[str]:
    card = world.approval_card(request_id)
    return [m.text for m in world.fake.thread(card.channel, card.ts)]


async def test_reminders_then_escalation_in_the_card_thread_and_the_contact_may_decide(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester)
    assert request.rule is not None and request.rule.name == "leads decide"
    thread = await world.fake.wait_until(lambda: (t := _approval_thread(world, request.id)) and len(t) >= 3 and t,
                                         timeout=15)
    reminders = [t for t in thread if "Reminder" in t]
    assert len(reminders) == 2 and "Reminder 1 of 2" in reminders[0] and "Reminder 2 of 2" in reminders[1]
    assert all(f"<@{ERIN}>" in t and f"<!subteam^{world.ws.approvers_group}>" in t for t in reminders)
    assert f"<@{FRANK}>" in thread[2]
    events = [(r["event"], r["actor"]) for r in await world.audit(request_id=request.id)]
    assert events.count(("request.reminded", "system")) == 2
    assert events.count(("request.escalated", "system")) == 1
    card = world.approval_card(request.id)
    await world.driver.click(FRANK, card.channel, card.ts, APPROVE)  # frank is no approver but was escalated to
    decided = await wait_state(world, request.id, "approved", "starting", "running", "finished")
    assert decided.decided_by == FRANK
    assert len(_approval_thread(world, request.id)) == 3  # nothing more once decided


async def test_a_rules_own_approval_time(world: World) -> None:
    quick = await request_via_modal(world, world.ws.requester, software=SEVEN_ZIP)
    other = await request_via_modal(world, world.ws.requester)
    assert quick.rule is not None and quick.rule.ttl_hours == 0.0005
    await wait_state(world, quick.id, "expired", timeout=15)
    assert (await world.service.get(other.id)).state.value == "pending"  # 24 h from the settings


async def test_a_rules_self_approval(world: World) -> None:
    bob = world.ws.approver  # ALLOW_SELF_APPROVAL is false; the rule allows it
    request = await request_via_modal(world, bob)
    card = world.approval_card(request.id)
    await world.driver.click(bob, card.channel, card.ts, APPROVE)
    decided = await wait_state(world, request.id, "approved", "starting", "running", "finished")
    assert decided.decided_by == bob
