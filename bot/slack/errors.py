"""The one place where failures become words a person understands.

`@app.error` receives every exception a listener raised. Domain errors carry their own safe
message; ImmyBot and Slack failures become "unavailable right now — nothing was lost"; anything else
is a generic apology plus a log line (redacted, never a secret). Before ack the message goes in
the ack body where Slack shows it; after ack it is an ephemeral message (or a DM).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.workflow.errors import DomainError

log = logging.getLogger(__name__)

IMMYBOT_DOWN = "ImmyBot is unavailable right now — nothing was lost, please try again in a minute."
IMMYBOT_MISCONFIGURED = (
    "The bot cannot sign in to ImmyBot — nothing was lost. An admin should run `immybot-slack doctor`."
)
SLACK_TROUBLE = "Slack did not accept what the bot tried to show you — nothing was lost, please try again."
GENERIC = "Sorry, something went wrong on our side — nothing was lost. Please try again; if it persists, tell an admin."


@dataclass(frozen=True)
class DependencyErrors:
    """ImmyBot's client errors, named by the composition root (the Slack adapter never imports the client)."""

    unavailable: tuple[type[BaseException], ...] = ()  # any ImmyBot failure
    misconfigured: tuple[type[BaseException], ...] = ()  # sign-in refused: an admin must act


NONE_NAMED = DependencyErrors()


def user_message(error: BaseException, dependencies: DependencyErrors = NONE_NAMED) -> str:
    if isinstance(error, DomainError):
        return str(error)
    if isinstance(error, dependencies.misconfigured):
        return IMMYBOT_MISCONFIGURED
    if isinstance(error, (*dependencies.unavailable, TimeoutError)):
        return IMMYBOT_DOWN
    if isinstance(error, SlackApiError):
        return SLACK_TROUBLE
    return GENERIC


def _log(error: BaseException, body: dict[str, Any], dependencies: DependencyErrors) -> None:
    kind = body.get("type") or ("slash_command" if body.get("command") else "unknown")
    if isinstance(error, DomainError):
        log.info("refused: %s", error, extra={"slack_kind": kind})
    elif isinstance(error, (*dependencies.unavailable, SlackApiError, TimeoutError)):
        log.warning("dependency failed: %s: %s", type(error).__name__, error, extra={"slack_kind": kind})
    else:
        log.error("listener failed", exc_info=error, extra={"slack_kind": kind})


def _user_and_channel(body: dict[str, Any]) -> tuple[str | None, str | None]:
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id") \
        or (body.get("container") or {}).get("channel_id")
    return user, channel


async def tell_user(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """Best-effort ephemeral note to whoever caused this delivery (falls back to a DM)."""
    user, channel = _user_and_channel(body)
    if not user:
        return
    try:
        if channel:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, text=text)
                return
            except SlackApiError:
                pass
        await client.chat_postMessage(channel=user, text=text)
    except SlackApiError as error:
        log.warning("could not tell the user about a failure: %s", error.response.get("error"))


def _pre_ack_response(body: dict[str, Any], text: str) -> BoltResponse | None:
    """What to answer when the failure happened before ack (None: an empty 200 and a message)."""
    headers = {"content-type": "application/json;charset=utf-8"}
    if body.get("command"):
        return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": text}),
                            headers=headers)
    if body.get("type") == "block_suggestion":
        return BoltResponse(status=200, body=json.dumps({"options": []}), headers=headers)
    return None


def install_error_handler(
    app: AsyncApp, *, on_error: Any = None, dependencies: DependencyErrors = NONE_NAMED
) -> None:
    @app.error
    async def handle_error(
        error: Exception, body: dict[str, Any], client: AsyncWebClient, response: BoltResponse | None
    ) -> BoltResponse | None:
        body = body or {}
        _log(error, body, dependencies)
        if on_error is not None:
            on_error(error)
        text = user_message(error, dependencies)
        if response is not None:  # not acknowledged yet: answer in the ack where we can
            direct = _pre_ack_response(body, text)
            if direct is not None:
                return direct
            await tell_user(client, body, text)
            return BoltResponse(status=200, body="")
        await tell_user(client, body, text)
        return None
