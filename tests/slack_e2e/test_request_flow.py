"""The main path over HTTP: /immy → modal → options → submit → both cards → approve → one start."""

from __future__ import annotations

import pytest

from bot.slack.requests import ids
from tests.conftest import OPENAPI
from tests.slack_e2e.conftest import APPROVE, World
from tests.slack_e2e.flows import CHROME, computer_ids, open_modal, request_via_modal, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_options_answer_best_first_and_at_most_100(world: World) -> None:
    view = await open_modal(world, world.ws.requester)
    software = await world.driver.suggest(world.ws.requester, view, ids.SOFTWARE_ACTION, "chrome")
    assert 0 < len(software) <= 100
    assert software[0]["text"]["text"].startswith("Google Chrome")
    assert software[0]["value"] == CHROME
    everything = await world.driver.suggest(world.ws.requester, view, ids.SOFTWARE_ACTION, "e")
    assert len(everything) <= 100
    computers = await world.driver.suggest(world.ws.requester, view, ids.COMPUTERS_ACTION, "CONTOSO-LT-0001")
    assert computers and computers[0]["text"]["text"].startswith("CONTOSO-LT-0001")
    assert " · " in computers[0]["text"]["text"]


async def test_submit_posts_both_cards_and_approve_starts_once(world: World) -> None:
    ws = world.ws
    request = await request_via_modal(world, ws.requester)
    assert request.state.value == "pending"
    assert request.request_card is not None and request.request_card.channel == ws.ops_channel
    card = world.approval_card(request.id)
    runs_before = len(world.run_calls())

    delivery = await world.driver.click(ws.approver, card.channel, card.ts, APPROVE)
    assert delivery.status == 200
    await wait_state(world, request.id, "running", "finished", timeout=10)
    assert len(world.run_calls()) == runs_before + 1
    if OPENAPI.exists():  # the run body was checked against ImmyBot's own OpenAPI document
        assert world.immy.immybot.body_validator is not None
    assert world.immy.immybot.invalid_bodies == []
    updated = world.fake.find_message(card.channel, card.ts)
    assert updated is not None and APPROVE not in str(updated.blocks)
    thread = world.fake.thread(request.request_card.channel, request.request_card.ts)
    assert any("Approved by" in m.text for m in thread)
    world.fake.assert_clean()


async def test_prefill_text_preselects_the_single_match(world: World) -> None:
    view = await open_modal(world, world.ws.requester, text="install Google Chrome")
    software = next(b for b in view.view["blocks"] if b.get("block_id") == ids.SOFTWARE_BLOCK)
    assert software["element"].get("initial_option", {}).get("value") == CHROME
    assert computer_ids(world)
