"""Audit checkpoints in Slack (SPEC §10): posted as a message with metadata, read back by `audit verify`.

Posting needs `chat:write` (and the bot in the channel); reading needs `channels:history` (or
`groups:history` for a private channel). Only messages posted by this app's bot user count: anyone else
in the channel can post text, and another app could even post look-alike metadata.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.metadata import Metadata
from slack_sdk.web.async_client import AsyncWebClient

from bot.workflow.checkpoints import Checkpoint, checkpoint_from_payload

CHECKPOINT_EVENT = "immybot_audit_checkpoint"
NEWEST = 5  # checkpoints `audit verify` compares
SCAN_MESSAGES = 2000  # how far back it looks for them in a busy channel
PAGE = 200


def checkpoint_text(checkpoint: Checkpoint) -> str:
    return f"Audit checkpoint: row {checkpoint.row}, hash {checkpoint.hash}"


class SlackCheckpoints:
    """The `post` port of `Checkpointer`: one message per checkpoint in `channel`."""

    def __init__(self, client: AsyncWebClient, channel: str) -> None:
        self.client = client
        self.channel = channel

    async def post(self, checkpoint: Checkpoint) -> None:
        await self.client.chat_postMessage(
            channel=self.channel,
            text=checkpoint_text(checkpoint),
            metadata=Metadata(
                event_type=CHECKPOINT_EVENT, event_payload={"row": checkpoint.row, "hash": checkpoint.hash}
            ),
            unfurl_links=False,
        )


async def read_checkpoints(
    client: AsyncWebClient, channel: str, *, newest: int = NEWEST, scan: int = SCAN_MESSAGES
) -> list[Checkpoint]:
    """The newest checkpoints this bot posted in `channel`, newest first (raises `SlackApiError` or a
    connection error when Slack cannot be read)."""
    me = await client.auth_test()
    found: list[Checkpoint] = []
    cursor: str | None = None
    seen = 0
    while len(found) < newest and seen < scan:
        page = await client.conversations_history(
            channel=channel, include_all_metadata=True, limit=PAGE, **({"cursor": cursor} if cursor else {})
        )
        for message in page.get("messages") or []:
            seen += 1
            checkpoint = _checkpoint(message, me.data if isinstance(me.data, dict) else {}, channel)
            if checkpoint is not None and len(found) < newest:
                found.append(checkpoint)
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not page.get("has_more") or not cursor:
            break
    return found


def _checkpoint(message: dict[str, Any], me: dict[str, Any], channel: str) -> Checkpoint | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != CHECKPOINT_EVENT:
        return None
    by_me = (me.get("bot_id") and message.get("bot_id") == me.get("bot_id")) or (
        me.get("user_id") and message.get("user") == me.get("user_id")
    )
    if not by_me:
        return None
    return checkpoint_from_payload(metadata.get("event_payload"), f"Slack {channel}, message {message.get('ts')}")
