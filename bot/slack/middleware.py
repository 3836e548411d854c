"""Global Bolt middleware: drop repeated deliveries before any listener runs.

Slack retries events (`X-Slack-Retry-Num`, Socket Mode `retry_attempt`), and people double-click.
Every delivery that changes something gets a dedup key; the first one to claim it in the store is
handled, every later one is answered 200 and skipped. Options loads (read-only) are never deduped.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.slack.payloads import BadPayload, check_body

log = logging.getLogger(__name__)

Claim = Callable[[str], Awaitable[bool]]


def delivery_key(body: dict[str, Any]) -> str | None:
    """The identity of one delivery, equal for a retry or a replay of it, None for read-only ones."""
    kind = body.get("type")
    if kind == "event_callback":
        return f"event:{body.get('event_id')}"
    if kind == "view_submission":
        view = body.get("view") or {}
        state = json.dumps(view.get("state") or {}, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(state.encode()).hexdigest()[:20]
        # the same view may be submitted again after validation errors, with other values
        return f"view:{view.get('id')}:{digest}"
    if kind == "block_actions":
        container = body.get("container") or {}
        where = container.get("message_ts") or container.get("view_id") or ""
        user = (body.get("user") or {}).get("id")
        action = (body.get("actions") or [{}])[0]
        return f"action:{where}:{action.get('action_id')}:{user}:{action.get('action_ts')}"
    if body.get("command") and body.get("trigger_id"):
        return f"command:{body['trigger_id']}"
    return None


def install_dedup(app: AsyncApp, claim: Claim, on_duplicate: Callable[[str], None] | None = None) -> None:
    @app.middleware
    async def skip_repeated_deliveries(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        key = delivery_key(body)
        if key is not None and not await claim(key):
            log.info("skipped a repeated Slack delivery", extra={"dedup_key": key})
            if on_duplicate is not None:
                on_duplicate(key)
            return BoltResponse(status=200, body="")
        return await next()


def install_shape_check(app: AsyncApp) -> None:
    """Socket Mode deliveries skip the HTTP door: check their shape here too (→ 400, no listener)."""

    @app.middleware
    async def reject_malformed(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        try:
            check_body(body)
        except BadPayload as error:
            log.info("rejected a malformed Slack delivery", extra={"reason": str(error)})
            return BoltResponse(status=400, body="")
        return await next()
