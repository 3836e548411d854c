"""`immybot-slack audit verify`: the hash chain, then the checkpoints kept outside the database (SPEC §10).

The chain alone cannot show rows cut from its end or a chain rebuilt whole; the checkpoints the bot
posts in Slack can. They are read first (a checkpoint is posted only after its row is committed, so one
read before the database can never be ahead of it), then the chain is recomputed, then each checkpoint
is looked up in the database.

Exit codes: 0 all good; 1 the chain is broken or a checkpoint disagrees with the database (it is named);
2 the checkpoints could not be read (no token or channel, Slack unreachable or refusing) — nothing is
claimed about them then; `--offline` checks the chain alone, `--checkpoint ID:HASH` checks given ones.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import CheckpointReadSettings
from bot.slack.checkpoints import read_checkpoints
from bot.store import audit_cli
from bot.workflow.checkpoints import Checkpoint, parse_checkpoint

SLACK_TIMEOUT_SECONDS = 15


@dataclass
class Found:
    checkpoints: list[Checkpoint] = field(default_factory=list)
    where: str = "--checkpoint"
    error: str | None = None


async def run_verify(db: str | None, *, offline: bool = False, checkpoints: Sequence[str] = ()) -> int:
    try:
        given = [parse_checkpoint(text) for text in checkpoints]
    except ValueError as error:
        print(f"immybot-slack: --checkpoint: {error}", file=sys.stderr)
        return 2
    settings = CheckpointReadSettings()
    found = Found(given) if given or offline else await from_slack(settings)
    code = await audit_cli.verify(db)  # prints the chain's line
    if code != 0:
        return code
    if offline:
        print("Checkpoints: not checked (--offline): rows cut from the end, or a rebuilt chain, would not show")
        return 0
    if found.error is not None:
        print(f"ERROR: checkpoints not checked: {found.error}")
        return 2
    path = audit_cli.target(db)
    if not found.checkpoints:
        if await audit_cli.newest_row(path) is None:
            print("Checkpoints: none yet, and the log is empty")
            return 0
        print(f"ERROR: no audit checkpoint found in {found.where}, so rows cut from the end would not show "
              "(deleted messages? another channel? the bot not in it?); --offline checks the chain alone")
        return 2
    problems = await audit_cli.checkpoint_problems(path, found.checkpoints)
    for checkpoint, problem in zip(found.checkpoints, problems, strict=True):
        print(f"OK: {checkpoint.label()}" if problem is None else f"FAIL: {checkpoint.label()}: {problem}")
    return 1 if any(problems) else 0


async def from_slack(settings: CheckpointReadSettings) -> Found:
    """The newest checkpoints the bot posted, or why they could not be read."""
    how = "give --checkpoint ID:HASH, or --offline to check the chain alone"
    if settings.slack_bot_token is None:
        return Found(error=f"SLACK_BOT_TOKEN is not set, so the checkpoints in Slack cannot be read; {how}")
    channel = settings.checkpoint_channel
    if channel is None:
        return Found(error=f"neither AUDIT_CHECKPOINT_CHANNEL nor APPROVAL_CHANNEL is set; {how}")
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT_SECONDS,
        retry_handlers=[AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    where = f"Slack channel {channel}"
    try:
        return Found(await read_checkpoints(client, channel), where)
    except SlackApiError as error:
        code = error.response.get("error") if error.response is not None else "error"
        hint = " (the bot needs channels:history, or groups:history for a private channel, and to be in it)"
        return Found(where=where, error=f"Slack refused to list {where}: {code}{hint}; {how}")
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        detail = f"{type(error).__name__}: {error}".rstrip(": ")
        return Found(where=where, error=f"could not reach Slack at {settings.slack_api_url} ({detail}); {how}")
