"""The door: signatures (401, nothing recorded), malformed bodies (400), and retried deliveries (200, no duplicate)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.slack.middleware import command_key, recent_commands
from bot.workflow.model import Request
from immybot_slack_sandbox.slack_user import SlackDriver
from tests.slack_e2e.conftest import APPROVE, DIRECT_APPROVER, World
from tests.slack_e2e.flows import computer_ids, open_modal, request_via_modal, wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")


class Recording(SlackDriver):
    """Remembers the last payload so it can be delivered again, byte for byte, as Slack's retry."""

    last: tuple[str, dict[str, Any]] | None = None

    async def deliver(self, kind: Any, payload: dict[str, Any], **opts: Any) -> Any:  # type: ignore[override]
        self.last = (kind, payload)
        return await super().deliver(kind, payload, **opts)

    async def replay(self, retry_num: int = 1) -> Any:
        assert self.last is not None
        return await super().deliver(self.last[0], self.last[1], retry_num=retry_num)


@pytest.fixture
async def recording(world: World) -> Any:
    async with Recording(world.fake, signing_secret=world.driver.signing_secret, bot_url=world.bot.url) as driver:
        yield driver


async def _sign_and_post(world: World, body: bytes, content_type: str) -> httpx.Response:
    headers = {"content-type": content_type, **world.driver.signed_headers(body.decode())}
    async with httpx.AsyncClient(trust_env=False) as http:
        return await http.post(world.bot.url + "/slack/events", content=body, headers=headers)


@pytest.mark.parametrize("knob", [{"forge": True}, {"stale": True}, {"sign": False}])
async def test_bad_signatures_get_401_and_change_nothing(world: World, knob: dict[str, bool]) -> None:
    calls, views = len(world.fake.calls()), len(world.fake.views)
    rows = len(await world.audit())
    delivery = await world.driver.slash(world.ws.requester, world.ws.ops_channel, "", **knob)
    assert delivery.status == 401
    await asyncio.sleep(0.1)
    assert len(world.fake.calls()) == calls and len(world.fake.views) == views
    assert len(await world.audit()) == rows


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        (b'payload={"type":"block_actions","user":{"id":"U0ALICE"}}', "application/x-www-form-urlencoded"),
        (b'payload={"type":"view_submission","user":{"id":"U0ALICE"}}', "application/x-www-form-urlencoded"),
        (b"command=%2Fimmy&text=hi", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b'{"type":"event_callback"}', "application/json"),
    ],
)
async def test_malformed_bodies_get_400(world: World, body: bytes, content_type: str) -> None:
    if body == b"\xff\xfe":
        headers = {"content-type": content_type, **_raw_signature(world, body)}
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.post(world.bot.url + "/slack/events", content=body, headers=headers)
    else:
        response = await _sign_and_post(world, body, content_type)
    assert response.status_code == 400


def _raw_signature(world: World, body: bytes) -> dict[str, str]:
    import hashlib
    import hmac
    import time

    ts = str(int(time.time()))
    digest = hmac.new(world.driver.signing_secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"x-slack-request-timestamp": ts, "x-slack-signature": "v0=" + digest.hexdigest()}


async def test_retried_command_opens_one_modal(world: World, recording: Recording) -> None:
    await recording.slash(world.ws.requester, world.ws.ops_channel, "")
    await world.fake.wait_for("views.open", lambda c: c.params.get("trigger_id") == recording.last[1]["trigger_id"])
    opened = len(world.fake.calls("views.open"))
    assert (await recording.replay()).status == 200
    await asyncio.sleep(0.2)
    assert len(world.fake.calls("views.open")) == opened


def _posts_but_checkpoints(world: World) -> list[Any]:
    """chat.postMessage calls but the audit checkpoints (posted on their own clock, SPEC §10)."""
    return [c for c in world.fake.calls("chat.postMessage")
            if "Audit checkpoint" not in str(c.params.get("text"))]


async def test_retried_submission_makes_one_request(world: World, recording: Recording) -> None:
    user = world.ws.requester
    view = await open_modal(world, user)
    from immybot_slack_sandbox.slack_user import values_for

    values = values_for(view.view, software="Global:714", computers=computer_ids(world), reason="retry me")
    await recording.submit(user, view, values)
    await world.fake.wait_until(lambda: any("retry me" in str(m.blocks) for m in world.fake.messages(
        world.ws.approval_channel)))
    created = [r for r in await world.audit(actor=user) if r["event"] == "request.created"]
    posts = len(_posts_but_checkpoints(world))
    for n in (1, 2):
        assert (await recording.replay(n)).status == 200
    await asyncio.sleep(0.2)
    assert len([r for r in await world.audit(actor=user) if r["event"] == "request.created"]) == len(created)
    assert len(_posts_but_checkpoints(world)) == posts


async def test_retried_approval_decides_once(world: World, recording: Recording) -> None:
    request = await request_via_modal(world, world.ws.requester)
    card = world.approval_card(request.id)
    runs = len(world.run_calls())
    await recording.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
    await wait_state(world, request.id, "running", "finished", timeout=10)
    assert (await recording.replay()).status == 200
    await asyncio.sleep(0.3)
    rows = await world.audit(request_id=request.id)
    assert [r["event"] for r in rows].count("request.approved") == 1
    assert not any(r["event"] == "decision.refused" for r in rows)
    assert len(world.run_calls()) == runs + 1


async def test_retried_event_is_handled_once(world: World) -> None:
    user = world.ws.other
    before = len(world.fake.calls("views.publish"))
    event = {"type": "app_home_opened", "user": user, "channel": world.fake.dm_with(user).id, "tab": "home",
             "event_ts": "1.0"}
    first = await world.driver.send_event(event, event_id="EvRETRY0001")
    again = await world.driver.send_event(event, event_id="EvRETRY0001", retry_num=1)
    assert first.status == again.status == 200
    await world.fake.wait_for("views.publish", lambda c: c.params.get("user_id") == user)
    await asyncio.sleep(0.2)
    assert len(world.fake.calls("views.publish")) == before + 1


async def test_options_loads_are_never_deduplicated(world: World) -> None:
    view = await open_modal(world, world.ws.requester)
    first = await world.driver.suggest(world.ws.requester, view, "software_search", "chrome")
    second = await world.driver.suggest(world.ws.requester, view, "software_search", "chrome", retry_num=1)
    assert first == second and first


async def test_command_opens_the_modal_without_a_durable_claim(world: World, recording: Recording) -> None:
    """Nothing durable (BEGIN IMMEDIATE + fsync) sits between `/immy` and its views.open."""
    await recording.slash(world.ws.requester, world.ws.ops_channel, "")
    trigger = recording.last[1]["trigger_id"]
    await world.fake.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger)
    assert await world.service.claim(command_key({"command": "/immy", "trigger_id": trigger}) or "")


async def test_command_replayed_after_a_restart_is_quiet(world: World, recording: Recording) -> None:
    """The in-memory guard is gone (restart, second replica): Slack refuses the used trigger, nobody hears of it."""
    user = world.ws.requester
    await recording.slash(user, world.ws.ops_channel, "")
    trigger = recording.last[1]["trigger_id"]
    await world.fake.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger)
    views, posts, ephemerals = len(world.fake.views), len(world.fake.messages(world.ws.ops_channel)), \
        len(world.fake.ephemerals(user))
    recent_commands(world.bot.services.app).clear()
    assert (await recording.replay()).status == 200
    refused = await world.fake.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger, count=2)
    assert refused.error == "exchanged_trigger_id"
    await asyncio.sleep(0.2)
    assert len(world.fake.views) == views and len(world.fake.messages(world.ws.ops_channel)) == posts
    assert len(world.fake.ephemerals(user)) == ephemerals


async def test_cancel_replayed_after_a_restart_acts_once(world: World, recording: Recording) -> None:
    """`cancel` claims its trigger durably after the ack: a replay the memory missed does nothing."""
    user = world.ws.requester
    request = await request_via_modal(world, user)
    await recording.slash(user, world.ws.ops_channel, f"cancel {request.id}")
    await wait_state(world, request.id, "cancelled")
    await world.fake.wait_until(lambda: any(f"#{request.id}" in e.text for e in world.fake.ephemerals(user)))
    calls = await _settled(lambda: _calls_about(world, request))  # the module's earlier requests may still post
    ephemerals = len(world.fake.ephemerals(user))
    recent_commands(world.bot.services.app).clear()
    assert (await recording.replay()).status == 200
    await asyncio.sleep(0.3)
    assert 0 < calls == _calls_about(world, request) and len(world.fake.ephemerals(user)) == ephemerals


def _calls_about(world: World, request: Request) -> int:
    """Web API calls that concern this request: its cards, their threads, or text naming it."""
    cards = [card.ts for card in (request.request_card, request.approval_card) if card is not None]
    named = re.compile(rf"#{request.id}\b|" + "|".join(re.escape(ts) for ts in cards))
    return sum(1 for call in world.fake.calls() if named.search(str(call.params)))


async def _settled(count: Callable[[], int], quiet: float = 0.3, timeout: float = 10.0) -> int:  # noqa: ASYNC109
    """`count()` once it has not moved for `quiet` seconds (effects still in flight land first)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last = count()
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(quiet)
        now = count()
        if now == last:
            return now
        last = now
    return last
