"""Gestures the e2e tests repeat: submit a request through the modal, find its cards, wait for things."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.slack.requests import ids
from bot.workflow.model import Request
from immybot_slack_sandbox.slack_state import ViewRecord
from immybot_slack_sandbox.slack_user import Delivery, values_for
from tests.slack_e2e.conftest import World

CHROME = "Global:714"


def computer_ids(world: World, count: int = 1, start: int = 0) -> list[str]:
    return [str(c["id"]) for c in world.immy.immybot.data.computers[start:start + count]]


async def open_modal(world: World, user: str, text: str = "", channel: str | None = None) -> ViewRecord:
    before = {v.id for v in world.fake.view_stack(user)}
    delivery = await world.driver.slash(user, channel or world.ws.ops_channel, text)
    assert delivery.status == 200, delivery.text
    return await world.fake.wait_until(
        lambda: next((v for v in world.fake.view_stack(user) if v.id not in before), None)
    )


async def submit(world: World, user: str, view: ViewRecord, **values: Any) -> Delivery:
    values.setdefault(ids.REASON_BLOCK, "ticket 1234")
    return await world.driver.submit(user, view, values_for(view.view, **values))


async def submit_unchecked(world: World, user: str, view: ViewRecord, *, raw: dict[str, Any] | None = None,
                           **values: Any) -> Delivery:
    """A submission Slack's own client would refuse to send (a required input left empty): a crafted one."""
    from immybot_slack_sandbox import slack_payloads as p

    state = values_for(view.view, **values)
    state.update(raw or {})
    for block, element in p.input_elements(view.view):
        state.setdefault(block["block_id"], {element["action_id"]: p.initial_state(element)})
    view.state = state
    payload = {
        **p.base(world.fake), "type": "view_submission", "user": p.user_ref(world.fake, user),
        "trigger_id": world.fake.mint_trigger(user), "response_urls": [],
        "view": view.to_api(team_id=world.fake.team_id, app_id=world.fake.app_id, bot_id=world.fake.bot_id),
    }
    return await world.driver.deliver("interactive", payload)


async def newest_request(world: World, user: str) -> Request:
    return (await world.service.recent_for(user, 1))[0]


async def request_via_modal(world: World, user: str, *, channel: str | None = None, **values: Any) -> Request:
    """Submit a valid request and wait until both cards are posted and recorded."""
    values.setdefault(ids.SOFTWARE_BLOCK, CHROME)
    if not {ids.COMPUTERS_BLOCK, ids.PERSON_BLOCK, ids.EMAIL_BLOCK} & set(values):
        values[ids.COMPUTERS_BLOCK] = computer_ids(world)
    view = await open_modal(world, user, channel=channel)
    delivery = await submit(world, user, view, **values)
    assert delivery.status == 200 and not delivery.text.strip(), delivery.text
    request = await newest_request(world, user)

    await world.fake.wait_until(lambda: _cards_posted(world, request.id))
    for _ in range(500):  # posted in Slack a moment before both references are stored
        recorded = await world.service.get(request.id)
        if recorded.request_card is not None and recorded.approval_card is not None:
            return recorded
        await asyncio.sleep(0.01)
    return recorded


def _cards_posted(world: World, request_id: int) -> bool:
    try:
        world.approval_card(request_id)
    except LookupError:
        return False
    return True


async def wait_state(world: World, request_id: int, *states: str, timeout: float = 5.0) -> Request:  # noqa: ASYNC109
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        request = await world.service.get(request_id)
        if request.state.value in states and request.request_card and request.approval_card:
            return request
        if time.monotonic() > deadline:
            raise TimeoutError(f"#{request_id} is {request.state.value}, not {states}")
        await asyncio.sleep(0.02)
