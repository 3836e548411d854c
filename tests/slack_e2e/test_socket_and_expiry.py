"""Socket Mode smoke (slash command + options over the fake's WebSocket), health/metrics, and expiry."""

from __future__ import annotations

import httpx

from bot.slack.requests import ids
from tests.slack_e2e.conftest import world_of
from tests.slack_e2e.flows import CHROME, request_via_modal, wait_state


async def test_socket_mode_command_and_options(tmp_path: object) -> None:
    async with world_of(tmp_path, mode="socket") as world:  # type: ignore[arg-type]
        assert world.bot.socket_mode
        delivery = await world.driver.slash(world.ws.requester, world.ws.ops_channel, "")
        assert delivery.status == 200
        view = await world.fake.wait_until(lambda: world.fake.latest_view(world.ws.requester))
        options = await world.driver.suggest(world.ws.requester, view, ids.SOFTWARE_ACTION, "chrome")
        assert options and options[0]["value"] == CHROME
        help_ack = await world.driver.slash(world.ws.requester, world.ws.ops_channel, "help")
        assert "/immy status" in help_ack.text
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await http.post(world.bot.url + "/slack/events", content=b"x")).status_code in (404, 405)
            health = await http.get(world.bot.url + "/healthz")
            assert health.status_code in (200, 503) and "components" in health.json()
            metrics = await http.get(world.bot.url + "/metrics")
            assert metrics.status_code == 200 and "immybot_slack_ack_seconds" in metrics.text
        world.fake.assert_clean()


async def test_undecided_request_expires_and_the_requester_is_told(tmp_path: object) -> None:
    async with world_of(tmp_path, approval_ttl_hours=0.0004) as world:  # type: ignore[arg-type]
        request = await request_via_modal(world, world.ws.requester)
        expired = await wait_state(world, request.id, "expired", timeout=8)
        assert expired.request_card is not None
        thread = await world.fake.wait_until(
            lambda: world.fake.thread(expired.request_card.channel, expired.request_card.ts))
        assert any("expired" in m.text and f"<@{world.ws.requester}>" in m.text for m in thread)
        card = world.approval_card(request.id)
        assert "approval_approve" not in str(card.blocks)
        rows = await world.audit(request_id=request.id)
        assert rows[-1]["event"] == "request.expired"
