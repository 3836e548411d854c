"""A trivial Bolt AsyncApp that uses the real view builders, to drive through the fake Slack in tests."""

from __future__ import annotations

from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.slack.approvals import ids as approval_ids
from bot.slack.home.views import home_view
from bot.slack.requests import ids as request_ids
from bot.slack.requests.views import request_modal, software_options
from immybot_slack_sandbox.slack import FakeSlack

CATALOG = [("Global:714", "7-Zip", "Global"), ("Local:12", "Acme VPN", "Local"), ("Global:9", "Zoom", "Global")]


def tiny_app(fake: FakeSlack, signing_secret: str, seen: list[dict[str, Any]]) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url), signing_secret=signing_secret
    )

    @app.command("/immy")
    async def immy(ack: Any, body: dict, client: AsyncWebClient) -> None:
        if body.get("text") == "help":
            await ack(text="usage: /immy")
            return
        await ack()
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=request_modal(channel_id=body["channel_id"], prefill=body.get("text", ""), max_targets=3),
        )

    @app.options(request_ids.SOFTWARE_ACTION)
    async def search(ack: Any, body: dict) -> None:
        query = body["value"].lower()
        await ack(options=software_options([c for c in CATALOG if query in c[1].lower()]))

    @app.view(request_ids.REQUEST_MODAL)
    async def submitted(ack: Any, body: dict, view: dict) -> None:
        seen.append(view["state"]["values"])
        if not view["state"]["values"][request_ids.COMPUTERS_BLOCK][request_ids.COMPUTERS_ACTION]["selected_options"]:
            await ack(response_action="errors", errors={request_ids.COMPUTERS_BLOCK: "Pick a computer"})
            return
        await ack()

    @app.action(approval_ids.APPROVE_ACTION)
    async def approve(ack: Any, body: dict, respond: Any) -> None:
        await ack()
        seen.append(body)
        await respond(text=f"approved {body['actions'][0]['value']}", replace_original=True)

    @app.event("app_home_opened")
    async def home(event: dict, body: dict, client: AsyncWebClient, context: dict) -> None:
        seen.append({"retry_num": context.get("retry_num"), "event_id": body.get("event_id")})
        await client.views_publish(user_id=event["user"], view=home_view([], []))

    @app.middleware
    async def headers(req: Any, resp: Any, next: Any) -> None:
        retry = req.headers.get("x-slack-retry-num")
        if retry:
            req.context["retry_num"] = retry[0]
        await next()

    return app


def asgi(app: AsyncApp) -> Starlette:
    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
