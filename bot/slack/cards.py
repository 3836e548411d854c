"""Posting and re-rendering a request's two cards, and talking in its thread.

Plumbing only: which builder renders what is decided by `bot.slack.*.views`; what happens to a
request is decided by `bot.workflow`. Slack failures here are logged, never raised into a
listener that has already acknowledged.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.answers import opened_channel, posted_ref
from bot.slack.approvals.views import approval_card
from bot.slack.requests.views import request_card
from bot.workflow.model import MessageRef, Request

log = logging.getLogger(__name__)

# The bot cannot post in the invoking channel: it falls back to the requester's DM (it never joins).
CANNOT_POST_THERE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "cannot_dm_bot", "access_denied"}
)


def slack_error(error: SlackApiError) -> str:
    return str(error.response.get("error", "unknown_error"))


async def dm_channel(client: AsyncWebClient, user: str) -> str:
    opened = await client.conversations_open(users=user)
    return opened_channel(opened)


async def post_request_card(client: AsyncWebClient, request: Request) -> MessageRef:
    """In the invoking channel, or the requester's DM when the bot may not post there."""
    text, blocks = request_card(request)
    if request.channel:
        try:
            posted = await client.chat_postMessage(channel=request.channel, text=text, blocks=blocks)
            return posted_ref(posted, request.channel)
        except SlackApiError as error:
            if slack_error(error) not in CANNOT_POST_THERE:
                raise
            log.info("cannot post the request card in its channel; using the DM", extra={"error": slack_error(error)})
    channel = await dm_channel(client, request.requester)
    posted = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    return posted_ref(posted, channel)


async def post_approval_card(client: AsyncWebClient, request: Request, approval_channel: str) -> MessageRef:
    text, blocks = approval_card(request)
    posted = await client.chat_postMessage(channel=approval_channel, text=text, blocks=blocks)
    return posted_ref(posted, approval_channel)


async def refresh_cards(client: AsyncWebClient, request: Request) -> None:
    """Re-render both cards in place from the request's current state (buttons go once decided)."""
    for ref, (text, blocks) in (
        (request.request_card, request_card(request)),
        (request.approval_card, approval_card(request)),
    ):
        if ref is None:
            continue
        try:
            await client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)
        except SlackApiError as error:
            log.warning("could not update a card", extra={"error": slack_error(error), "request_id": request.id})


async def thread_reply(client: AsyncWebClient, request: Request, text: str) -> None:
    """A reply in the request card's thread (or a DM when there is no card)."""
    try:
        if request.request_card is not None:
            await client.chat_postMessage(
                channel=request.request_card.channel, thread_ts=request.request_card.ts, text=text
            )
        else:
            await client.chat_postMessage(channel=await dm_channel(client, request.requester), text=text)
    except SlackApiError as error:
        log.warning("could not reply in the request's thread", extra={"error": slack_error(error)})


async def ephemeral(client: AsyncWebClient, *, channel: str | None, user: str, text: str,
                    blocks: list[dict] | None = None) -> None:
    """An ephemeral note in `channel`, or a DM when that is impossible."""
    try:
        if channel:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
                return
            except SlackApiError as error:
                if slack_error(error) not in CANNOT_POST_THERE and slack_error(error) != "user_not_in_channel":
                    raise
        await client.chat_postMessage(channel=await dm_channel(client, user), text=text, blocks=blocks)
    except SlackApiError as error:
        log.warning("could not tell a user", extra={"error": slack_error(error)})
