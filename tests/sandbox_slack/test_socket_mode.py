"""Socket Mode through the fake: Bolt's AsyncSocketModeHandler connects via apps.connections.open and acks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_user import SlackDriver


async def test_socket_mode_handler_connects_and_acks(
    fake_slack: FakeSlack, slack_driver_factory: Callable[..., SlackDriver]
) -> None:
    app = AsyncApp(client=AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url))
    retries: list[Any] = []

    @app.command("/immy")
    async def immy(ack: Any, body: dict) -> None:
        await ack(text=f"hello {body['user_id']}")

    @app.event("app_home_opened")
    async def home(req: Any) -> None:
        retries.append(req.headers.get("x-slack-retry-num"))

    handler = AsyncSocketModeHandler(app, app_token=fake_slack.app_token)
    await handler.connect_async()
    try:
        await fake_slack.socket.wait_connected()
        assert fake_slack.calls("apps.connections.open")[0].ok
        driver = slack_driver_factory(mode="socket")
        reply = await driver.slash("U0ALICE", "C0OPS")
        assert reply.status == 200 and reply.json() == {"text": "hello U0ALICE"}
        assert fake_slack.socket.acks[reply.envelope_id] == {"text": "hello U0ALICE"}
        assert [e.text for e in fake_slack.ephemerals("U0ALICE")] == ["hello U0ALICE"]
        event = await driver.open_home("U0BOB", retry_num=2)
        assert event.status == 200
        await fake_slack.wait_until(lambda: retries)
        assert retries == [["2"]]
        assert fake_slack.socket.sent[-1]["retry_attempt"] == 2
    finally:
        await handler.close_async()


async def test_unknown_ticket_is_refused(fake_slack: FakeSlack) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(fake_slack.url.replace("http", "ws") + "/link?ticket=forged") as ws:
                message = await ws.receive()
                assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        except aiohttp.WSServerHandshakeError as err:
            assert err.status == 403
    assert not fake_slack.socket.connections
