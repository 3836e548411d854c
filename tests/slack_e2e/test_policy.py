"""Issue 12 (SPEC §6) over HTTP against the fakes: a running bot with a POLICY_FILE.

alice may touch Contoso Ltd (by name, any case) and Adventure Works (by id 4); jane, through the
S0FABTECHS group, Fabrikam Inc; the approvers (dave, erin, frank, bob through S0APPROVERS) every tenant;
carol is in no scope. Uninstalls need two approvals, three or more computers need three, previews are
approved by the policy, and Adventure Works goes to its own channel and lead (erin).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.slack.approvals import ids as approval_ids
from bot.slack.home import ids as home_ids
from bot.slack.requests import ids
from bot.store import audit_cli
from tests.slack_e2e.conftest import APPROVE, DENY, DIRECT_APPROVER, JANE, World, world_of
from tests.slack_e2e.flows import CHROME, open_modal, request_via_modal, submit, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")

ERIN, FRANK = "U0ERIN", "U0FRANK"
ADVENTURE_CHANNEL = "C0ADVENTURE"
POLICY = """\
scopes:
  - members: [U0ALICE]
    tenants: [contoso ltd, 4]
  - members: [S0FABTECHS]
    tenants: [Fabrikam Inc]
  - members: [S0APPROVERS, U0DAVE, U0ERIN, U0FRANK]
    tenants: ["*"]
rules:
  - name: previews are free
    when: {preview: true}
    approvals: 0
  - name: uninstalls need two
    when: {actions: [NotPresent]}
    approvals: 2
    approvers: [U0DAVE, U0ERIN, S0APPROVERS]
  - name: big changes need three
    when: {min_targets: 3}
    approvals: 3
    approvers: [U0DAVE, U0ERIN, S0APPROVERS]
  - name: adventure works lead
    when: {tenants: [Adventure Works]}
    approvers: [U0ERIN]
    channel: C0ADVENTURE
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder = tmp_path_factory.mktemp("policy")
    (folder / "policy.yml").write_text(POLICY)
    async with world_of(folder, policy_file=folder / "policy.yml") as built:
        fake, ws = built.fake, built.ws
        fake.add_user(ERIN, "erin", real_name="Erin Lead", email="erin@example.com")
        fake.add_user(FRANK, "frank", real_name="Frank Oncall", email="frank@example.com")
        fake.add_group("S0FABTECHS", "fabrikam-techs", [JANE])
        fake.add_channel(ADVENTURE_CHANNEL, "adventure-approvals", members=[ERIN, DIRECT_APPROVER, ws.requester])
        for user in (ERIN, FRANK):
            fake.channels[ws.ops_channel].members.add(user)
            fake.channels[ws.approval_channel].members.add(user)
        yield built


def tenant_ids(world: World, tenant: str, count: int = 1) -> list[str]:
    rows = [c for c in world.immy.immybot.data.computers if c["tenantName"] == tenant]
    return [str(c["id"]) for c in rows[:count]]


def tenant_of(world: World) -> dict[str, str]:
    return {str(c["id"]): c["tenantName"] for c in world.immy.immybot.data.computers}


async def _ephemeral(world: World, user: str, needle: str) -> str:
    found = await world.fake.wait_until(
        lambda: next((e for e in reversed(world.fake.ephemerals(user)) if needle in e.text + str(e.blocks)), None))
    return found.text + str(found.blocks)


async def _events(world: World, request_id: int) -> list[tuple[str, str]]:
    return [(row["event"], row["actor"]) for row in await world.audit(request_id=request_id)]


def _thread(world: World, request: Any) -> str:
    card = request.request_card
    return " ".join(m.text for m in world.fake.thread(card.channel, card.ts))


# ---- scopes ---------------------------------------------------------------------------------------


async def test_typeahead_offers_only_the_persons_tenants(world: World) -> None:
    view = await open_modal(world, world.ws.requester)
    tenants = tenant_of(world)
    alice = await world.driver.suggest(world.ws.requester, view, ids.COMPUTERS_ACTION, "LT")
    assert alice and {tenants[o["value"]] for o in alice} <= {"Contoso Ltd", "Adventure Works"}
    assert await world.driver.suggest(world.ws.requester, view, ids.COMPUTERS_ACTION, "FABRIKAM") == []
    # jane, through her group: Fabrikam only, found by tenant name too
    fabrikam = await world.driver.suggest(JANE, view, ids.COMPUTERS_ACTION, "FABRIKAM")
    assert fabrikam and {tenants[o["value"]] for o in fabrikam} == {"Fabrikam Inc"}
    assert await world.driver.suggest(JANE, view, ids.COMPUTERS_ACTION, "CONTOSO") == []
    # carol is in no scope: no options at all
    assert await world.driver.suggest(world.ws.other, view, ids.COMPUTERS_ACTION, "CONTOSO") == []
    assert await world.driver.suggest(world.ws.other, view, ids.SOFTWARE_ACTION, "chrome") == []


async def test_someone_in_no_scope_may_not_request(world: World) -> None:
    await world.driver.slash(world.ws.other, world.ws.ops_channel, "")
    assert "no tenants" in await _ephemeral(world, world.ws.other, "may not make requests")
    await world.driver.open_home(world.ws.other)
    carol = await world.fake.wait_until(lambda: world.fake.home(world.ws.other))
    assert home_ids.NOT_ALLOWED_BLOCK in str(carol)


async def test_submission_outside_the_scope_is_refused_naming_the_tenant(world: World) -> None:
    view = await open_modal(world, world.ws.requester)
    delivery = await submit(world, world.ws.requester, view, **{
        ids.SOFTWARE_BLOCK: CHROME,
        ids.COMPUTERS_BLOCK: tenant_ids(world, "Contoso Ltd") + tenant_ids(world, "Fabrikam Inc")})
    answer = delivery.json()
    assert answer["response_action"] == "errors"
    assert "Fabrikam Inc" in answer["errors"][ids.COMPUTERS_BLOCK]
    refused = [r for r in await world.audit(actor=world.ws.requester) if r["event"] == "request.refused"]
    assert refused[-1]["outcome"] == "Fabrikam Inc is not one of your tenants"
    assert refused[-1]["request_id"] is None


async def test_an_email_resolves_only_to_computers_of_the_persons_tenants(world: World) -> None:
    view = await open_modal(world, JANE)  # Jane.Doe@Contoso.com's computers are Contoso's: not jane's tenant
    delivery = await submit(world, JANE, view, **{ids.SOFTWARE_BLOCK: CHROME, ids.EMAIL_BLOCK: "jane.doe@contoso.com"})
    assert delivery.json()["response_action"] == "errors"
    assert ids.EMAIL_BLOCK in delivery.json()["errors"]
    request = await request_via_modal(world, world.ws.requester, **{ids.EMAIL_BLOCK: "jane.doe@contoso.com"})
    assert request.targets.computers and all(c.tenant_name == "Contoso Ltd" for c in request.targets.computers)


async def test_status_sees_only_the_persons_tenants(world: World) -> None:
    await world.driver.slash(JANE, world.ws.ops_channel, "status CONTOSO-LT-0001")
    answer = await world.fake.wait_until(lambda: next(iter(world.fake.ephemerals(JANE)[-1:]), None))
    assert "Contoso Ltd" not in answer.text + str(answer.blocks)
    await world.driver.slash(world.ws.requester, world.ws.ops_channel, "status CONTOSO-LT-0001")
    assert "Contoso" in await _ephemeral(world, world.ws.requester, "CONTOSO-LT-0001")


# ---- several approvals ------------------------------------------------------------------------------


async def test_two_approvals_one_by_one_then_the_run_starts(world: World) -> None:
    runs = len(world.run_calls())
    request = await request_via_modal(world, world.ws.requester, **{
        ids.ACTION_BLOCK: "NotPresent", ids.COMPUTERS_BLOCK: tenant_ids(world, "Contoso Ltd")})
    assert request.rule is not None and request.rule.name == "uninstalls need two"
    card = world.approval_card(request.id)
    assert "uninstalls need two" in str(card.blocks)
    await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
    card = await world.fake.wait_until(
        lambda: (c := world.approval_card(request.id)) and "1 of 2 approvals" in str(c.blocks) and c)
    assert f"<@{DIRECT_APPROVER}>" in str(card.blocks) and approval_ids.APPROVE_ACTION in str(card.blocks)
    assert (await world.service.get(request.id)).state.value == "pending"
    await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)  # dave again: counted once
    assert "already approved" in await _ephemeral(world, DIRECT_APPROVER, "already approved")
    assert (await world.service.get(request.id)).approved_by == [DIRECT_APPROVER]
    await world.driver.click(world.ws.approver, card.channel, card.ts, APPROVE)  # bob, through the group
    await wait_state(world, request.id, "running", "finished")
    events = await _events(world, request.id)
    assert ("approval.added", DIRECT_APPROVER) in events and ("approval.added", world.ws.approver) in events
    assert [e for e in events if e[0] == "approval.added"] == [
        ("approval.added", DIRECT_APPROVER), ("approval.added", world.ws.approver)]
    assert ("request.approved", world.ws.approver) in events
    await world.fake.wait_until(lambda: len(world.run_calls()) == runs + 1)


async def test_ten_clicks_by_three_approvers_record_each_once_and_start_one_run(world: World) -> None:
    runs = len(world.run_calls())
    request = await request_via_modal(world, world.ws.requester,
                                      **{ids.COMPUTERS_BLOCK: tenant_ids(world, "Contoso Ltd", 3)})
    assert request.rule is not None and request.rule.approvals == 3
    card = world.approval_card(request.id)
    clickers = [DIRECT_APPROVER, ERIN, world.ws.approver] * 3 + [ERIN]
    deliveries = await asyncio.gather(*(world.driver.click(u, card.channel, card.ts, APPROVE) for u in clickers))
    assert all(d.status == 200 for d in deliveries)
    await wait_state(world, request.id, "running", "finished")
    events = await _events(world, request.id)
    added = [actor for event, actor in events if event == "approval.added"]
    assert sorted(added) == sorted([DIRECT_APPROVER, ERIN, world.ws.approver])
    assert [e for e in events if e[0] == "request.approved"] == [("request.approved", added[-1])]
    await asyncio.sleep(0.3)  # a second start would have been sent by now
    assert len(world.run_calls()) == runs + 1
    assert len([e for e in events if e[0] == "sessions.started"]) <= 1


async def test_one_deny_ends_a_request_that_needs_two(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester, **{
        ids.ACTION_BLOCK: "NotPresent", ids.COMPUTERS_BLOCK: tenant_ids(world, "Contoso Ltd")})
    card = world.approval_card(request.id)
    await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
    await world.fake.wait_until(lambda: "1 of 2 approvals" in str(world.approval_card(request.id).blocks))
    await world.driver.click(ERIN, card.channel, card.ts, DENY)
    modal = await world.fake.wait_until(lambda: next(iter(world.fake.view_stack(ERIN)), None))
    await world.driver.submit(ERIN, modal, {approval_ids.DENY_REASON_BLOCK: {
        approval_ids.DENY_REASON_ACTION: {"type": "plain_text_input", "value": "not on a Friday"}}})
    denied = await wait_state(world, request.id, "denied")
    assert denied.decided_by == ERIN
    await world.fake.wait_until(lambda: approval_ids.APPROVE_ACTION not in str(world.approval_card(request.id).blocks))


# ---- approval by the policy, routing ------------------------------------------------------------------


async def test_a_rule_with_no_approvals_approves_at_submission(world: World) -> None:
    runs = len(world.run_calls())
    request = await request_via_modal(world, world.ws.requester, **{
        ids.PREVIEW_BLOCK: [ids.PREVIEW_VALUE], ids.COMPUTERS_BLOCK: tenant_ids(world, "Contoso Ltd")})
    approved = [r for r in await world.audit(request_id=request.id) if r["event"] == "request.approved"]
    assert len(approved) == 1
    assert approved[0]["actor"] == "policy" and approved[0]["decision_reason"] == "previews are free"
    card = world.approval_card(request.id)  # both cards are posted, the approval card says why
    assert "Approved by policy" in str(card.blocks) and "previews are free" in str(card.blocks)
    assert approval_ids.APPROVE_ACTION not in str(card.blocks)
    await world.fake.wait_until(lambda: len(world.run_calls()) == runs + 1)
    await world.fake.wait_until(lambda: "previews are free" in _thread(world, request))


async def test_a_rules_channel_and_approvers_route_its_card(world: World) -> None:
    view = await open_modal(world, world.ws.requester)
    delivery = await submit(world, world.ws.requester, view, **{
        ids.SOFTWARE_BLOCK: CHROME, ids.COMPUTERS_BLOCK: tenant_ids(world, "Adventure Works")})
    assert delivery.status == 200 and not delivery.text.strip(), delivery.text
    request = (await world.service.recent_for(world.ws.requester, 1))[0]
    card = await world.fake.wait_until(lambda: next(
        (m for m in world.fake.messages(ADVENTURE_CHANNEL) if f"#{request.id}" in str(m.blocks)), None))
    assert "adventure works lead" in str(card.blocks)
    await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)  # an APPROVERS member, not this rule's
    assert "not" in await _ephemeral(world, DIRECT_APPROVER, f"#{request.id}")
    assert (await world.service.get(request.id)).state.value == "pending"
    await world.driver.click(ERIN, card.channel, card.ts, APPROVE)
    decided = await wait_state(world, request.id, "approved", "starting", "running", "finished")
    assert decided.decided_by == ERIN


async def test_app_home_shows_a_rules_approver_what_they_may_decide(world: World) -> None:
    view = await open_modal(world, world.ws.requester)
    await submit(world, world.ws.requester, view, **{
        ids.SOFTWARE_BLOCK: CHROME, ids.COMPUTERS_BLOCK: tenant_ids(world, "Adventure Works")})
    request = (await world.service.recent_for(world.ws.requester, 1))[0]
    await world.driver.open_home(ERIN)  # erin is in no APPROVERS: the rule names her
    erin = await world.fake.wait_until(lambda: (h := world.fake.home(ERIN)) and f"#{request.id}" in str(h) and h)
    assert approval_ids.APPROVE_ACTION in str(erin)
    await world.driver.open_home(DIRECT_APPROVER)  # in APPROVERS, but not this rule's approver
    dave = await world.fake.wait_until(lambda: world.fake.home(DIRECT_APPROVER))
    assert f"#{request.id}" not in str(dave)


# ---- the audit export ---------------------------------------------------------------------------------

FIELDS = {"id", "at", "request_id", "event", "actor", "requester", "software", "action", "targets", "reason",
          "decision_reason", "immybot_session_ids", "outcome", "prev_hash", "hash"}


async def test_the_new_events_appear_in_the_audit_export(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert await audit_cli.export(fmt="jsonl", since=None, request_id=None, db=str(world.settings.audit_db)) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    added = [r for r in rows if r["event"] == "approval.added"]
    assert added and all(set(r) == FIELDS for r in added)
    assert added[0]["request_id"] is not None and added[0]["targets"] and added[0]["software"]["catalog"]
    by_policy = [r for r in rows if r["event"] == "request.approved" and r["actor"] == "policy"]
    assert by_policy and by_policy[0]["decision_reason"] == "previews are free"
