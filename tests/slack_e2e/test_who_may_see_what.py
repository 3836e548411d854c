"""Issue 10, items 4 and 6 (SPEC §5): who may see what, the hourly limit, and the low findings.

REQUESTERS here is alice, jane and the approvers' group (bob); carol may not request and dave is an
approver who may not request. IMMYBOT_BASE_URL's https rule is a start-up check: tests/test_config.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.slack.home import ids as home_ids
from bot.slack.requests import ids
from bot.slack.text import SEARCH_QUERY_MAX
from immybot_slack_sandbox.slack_state import ViewRecord
from tests.slack_e2e.conftest import DIRECT_APPROVER, JANE, World, world_of
from tests.slack_e2e.flows import CHROME, computer_ids, open_modal, request_via_modal, submit, submit_unchecked

pytestmark = pytest.mark.asyncio(loop_scope="module")

PER_HOUR = 4
STATUS_OF = "CONTOSO-LT-0001"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with world_of(tmp_path_factory.mktemp("visibility"), requesters=f"U0ALICE,{JANE},S0APPROVERS",
                        requests_per_hour=PER_HOUR) as built:
        yield built


async def _ephemeral(world: World, user: str, needle: str) -> str:
    found = await world.fake.wait_until(
        lambda: next((e for e in reversed(world.fake.ephemerals(user)) if needle in e.text + str(e.blocks)), None))
    return found.text + str(found.blocks)


def _computer_reads(world: World) -> int:
    return len(world.immy.immybot.requests_to("/api/v1/computers/*", "GET"))


async def _alice_modal(world: World) -> ViewRecord:
    return await open_modal(world, world.ws.requester)


# ---- item 4: /immy status, the typeahead and App Home answer requesters only ------------------------------


async def test_status_is_refused_to_someone_who_may_not_request(world: World) -> None:
    reads = _computer_reads(world)
    await world.driver.slash(world.ws.other, world.ws.ops_channel, f"status {STATUS_OF}")
    refusal = await _ephemeral(world, world.ws.other, "not allowed")
    assert STATUS_OF not in refusal and "Contoso" not in refusal
    assert _computer_reads(world) == reads  # ImmyBot was not asked about the computer
    await world.driver.slash(world.ws.approver, world.ws.ops_channel, f"status {STATUS_OF}")  # bob, via his group
    assert "Contoso" in await _ephemeral(world, world.ws.approver, STATUS_OF)


async def test_typeahead_offers_nothing_to_someone_who_may_not_request(world: World) -> None:
    view = await _alice_modal(world)
    assert await world.driver.suggest(world.ws.requester, view, ids.SOFTWARE_ACTION, "chrome")
    assert await world.driver.suggest(world.ws.requester, view, ids.COMPUTERS_ACTION, "CONTOSO")
    # the same modal's options loads, as carol (who was refused at /immy and so never got a modal of her own)
    assert await world.driver.suggest(world.ws.other, view, ids.SOFTWARE_ACTION, "chrome") == []
    assert await world.driver.suggest(world.ws.other, view, ids.COMPUTERS_ACTION, "CONTOSO") == []


async def test_app_home_shows_nothing_to_someone_who_may_not_request(world: World) -> None:
    pending = await request_via_modal(world, world.ws.requester)
    await world.driver.open_home(world.ws.other)
    carol = await world.fake.wait_until(lambda: world.fake.home(world.ws.other))
    assert home_ids.NOT_ALLOWED_BLOCK in str(carol) and f"#{pending.id}" not in str(carol)
    await world.driver.open_home(DIRECT_APPROVER)  # an approver who may not request still decides from Home
    dave = await world.fake.wait_until(lambda: world.fake.home(DIRECT_APPROVER))
    assert f"#{pending.id}" in str(dave) and home_ids.NOT_ALLOWED_BLOCK not in str(dave)
    await world.driver.open_home(world.ws.requester)
    alice = await world.fake.wait_until(lambda: world.fake.home(world.ws.requester))
    assert f"#{pending.id}" in str(alice)


async def test_a_computer_id_not_in_the_catalog_is_refused_and_audited(world: World) -> None:
    view = await _alice_modal(world)
    before = len(await world.audit(actor=world.ws.requester))
    forged = [{"value": cid, "text": {"type": "plain_text", "text": cid}} for cid in [computer_ids(world)[0], "999999"]]
    raw = {ids.COMPUTERS_BLOCK: {ids.COMPUTERS_ACTION: {"type": "multi_external_select", "selected_options": forged}}}
    runs = len(world.run_calls())
    delivery = await submit_unchecked(world, world.ws.requester, view, raw=raw, software=CHROME, reason="r")
    assert delivery.json()["response_action"] == "errors"
    assert set(delivery.json()["errors"]) == {ids.COMPUTERS_BLOCK}
    rows = (await world.audit(actor=world.ws.requester))[before:]
    assert [r["event"] for r in rows] == ["request.refused"] and "999999" in rows[0]["outcome"]
    assert len(world.run_calls()) == runs


async def test_a_person_target_is_shown_as_the_person_never_their_email(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester, person=JANE)
    email = "jane.doe@contoso.com"
    assert request.request_card is not None and request.approval_card is not None
    request_card = world.fake.find_message(request.request_card.channel, request.request_card.ts)
    approval_card = world.fake.find_message(request.approval_card.channel, request.approval_card.ts)
    await world.driver.open_home(DIRECT_APPROVER)
    home = await world.fake.wait_until(lambda: f"#{request.id}" in str(world.fake.home(DIRECT_APPROVER))
                                       and world.fake.home(DIRECT_APPROVER))
    for shown in (request_card, approval_card, home):
        assert f"<@{JANE}>" in str(shown) and email not in str(shown).lower()
    thread = world.fake.thread(request.request_card.channel, request.request_card.ts)
    assert all(email not in (m.text + str(m.blocks)).lower() for m in thread)
    created = (await world.audit(request_id=request.id))[0]
    assert {"email": request.targets.email} in created["targets"]  # the audit keeps it


async def test_requests_per_hour_are_limited_in_the_modal_and_audited(world: World) -> None:
    made = [await request_via_modal(world, JANE) for _ in range(PER_HOUR)]
    await world.driver.slash(JANE, world.ws.ops_channel, f"cancel {made[0].id}")  # cancelled ones still count
    await _ephemeral(world, JANE, f"#{made[0].id}")
    view = await open_modal(world, JANE)
    delivery = await submit(world, JANE, view, software=CHROME, computers=computer_ids(world))
    assert delivery.json()["response_action"] == "errors"
    assert set(delivery.json()["errors"]) == {ids.SOFTWARE_BLOCK}
    assert f"limit is {PER_HOUR}" in delivery.json()["errors"][ids.SOFTWARE_BLOCK]
    rows = await world.audit(actor=JANE)
    assert rows[-1]["event"] == "request.refused" and "limit" in rows[-1]["outcome"]
    assert len([r for r in rows if r["event"] == "request.created"]) == PER_HOUR


# ---- item 6: the low findings ----------------------------------------------------------------------------


async def test_targets_are_resolved_only_after_the_requester_gate(world: World) -> None:
    view = await _alice_modal(world)  # carol submits a modal (say, opened before she was removed)
    lookups = len(world.fake.calls("users.info"))
    reads = len(world.immy.immybot.requests)
    before = len(await world.audit(actor=world.ws.other))
    delivery = await submit_unchecked(world, world.ws.other, view, software=CHROME, person=JANE)
    assert delivery.json()["response_action"] == "errors"
    assert "not allowed" in delivery.json()["errors"][ids.SOFTWARE_BLOCK]
    assert len(world.fake.calls("users.info")) == lookups  # jane's profile (and email) was not read
    assert len(world.immy.immybot.requests) == reads  # nor were her computers looked up in ImmyBot
    assert [r["event"] for r in (await world.audit(actor=world.ws.other))[before:]] == ["request.refused"]


async def test_typeahead_and_status_queries_are_capped_before_the_search(world: World, searched: list[str]) -> None:
    view = await _alice_modal(world)
    pasted = "chrome " + "x" * 5000
    await world.driver.suggest(world.ws.requester, view, ids.SOFTWARE_ACTION, pasted)
    await world.driver.suggest(world.ws.requester, view, ids.COMPUTERS_ACTION, "CONTOSO" + "y" * 5000)
    await world.driver.slash(world.ws.requester, world.ws.ops_channel, "status CONTOSO" + "z" * 3000)
    await _ephemeral(world, world.ws.requester, "CONTOSO" + "z" * 10)
    assert len(searched) == 3
    assert all(0 < len(query) <= SEARCH_QUERY_MAX for query in searched)
    assert searched[0] == pasted[:SEARCH_QUERY_MAX]


async def test_a_failing_group_lookup_fails_closed(tmp_path_factory: pytest.TempPathFactory) -> None:
    async with world_of(tmp_path_factory.mktemp("closed"), requesters="S0APPROVERS") as closed:
        closed.fake.fail("usergroups.users.list", "ratelimited")
        bob = closed.ws.approver
        await closed.driver.slash(bob, closed.ws.ops_channel, f"status {STATUS_OF}")
        await _ephemeral(closed, bob, "not allowed")
        await closed.driver.open_home(bob)
        home = await closed.fake.wait_until(lambda: closed.fake.home(bob))
        assert home_ids.NOT_ALLOWED_BLOCK in str(home)
