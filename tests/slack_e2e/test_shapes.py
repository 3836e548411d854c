"""The core flows against the fake ImmyBot in each shape ImmyBot's OpenAPI document allows (issue 9):
every property with nulls present (ASP.NET Core's default), null properties left out, enums as integers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from immybot_slack_sandbox.immy_shapes import SHAPES
from tests.slack_e2e.conftest import APPROVE, DIRECT_APPROVER, World, world_of
from tests.slack_e2e.flows import request_via_modal, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=SHAPES)
async def shaped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with world_of(tmp_path_factory.mktemp(f"shape-{request.param}"), shape=request.param) as built:
        assert built.immy.immybot.shaper.shape == request.param
        yield built


async def test_full_loop_submit_approve_summary(shaped: World) -> None:
    world, ws = shaped, shaped.ws
    assert world.bot.services.catalog.loaded and world.bot.services.catalog.sizes["computers"] == 60
    request = await request_via_modal(world, ws.requester)
    card = world.approval_card(request.id)
    await world.driver.click(ws.approver, card.channel, card.ts, APPROVE)
    done = await wait_state(world, request.id, "finished", timeout=20)
    assert done.outcome is not None and done.outcome.value == "passed", done
    assert all(s.status == "Passed" for s in done.sessions)
    assert request.request_card is not None
    ref = request.request_card

    def summary_posted() -> object:
        thread = world.fake.thread(ref.channel, ref.ts)
        return next((m for m in reversed(thread) if "Install" in m.text + str(m.blocks)), None)

    summary = await world.fake.wait_until(summary_posted, timeout=10)
    shown = summary.text + str(summary.blocks)
    assert "Install: none → 124.0.6367.61" in shown and "Unknown" not in shown
    world.fake.assert_clean()


async def test_status_answers(shaped: World) -> None:
    user = shaped.ws.other
    delivery = await shaped.driver.slash(user, shaped.ws.ops_channel, "status CONTOSO-LT-0001")
    assert delivery.status == 200
    found = await shaped.fake.wait_until(
        lambda: next((e for e in reversed(shaped.fake.ephemerals(user)) if "CONTOSO-LT-0001" in e.text), None)
    )
    assert "Contoso" in found.text + str(found.blocks)
    assert "unavailable" not in found.text.lower()


async def test_requests_lists_mine(shaped: World) -> None:
    request = await request_via_modal(shaped, shaped.ws.requester)
    delivery = await shaped.driver.slash(shaped.ws.requester, shaped.ws.ops_channel, "requests")
    assert delivery.status == 200 and f"#{request.id}" in delivery.text


async def test_app_home_lists_pending(shaped: World) -> None:
    request = await request_via_modal(shaped, shaped.ws.requester)
    delivery = await shaped.driver.open_home(DIRECT_APPROVER)
    assert delivery.status == 200
    home = await shaped.fake.wait_until(
        lambda: (view := shaped.fake.home(DIRECT_APPROVER)) and f"#{request.id}" in str(view) and view
    )
    assert f"#{request.id}" in str(home)
