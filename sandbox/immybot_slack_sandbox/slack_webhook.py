"""`response_url` posts on the fake Slack: up to 5 uses in 30 minutes, Block Kit checked, and the
effect a person sees (an ephemeral reply, an in-channel message, the original replaced or deleted).
"""

from __future__ import annotations

import json
from typing import Any

from immybot_slack_sandbox.slack_state import ResponseUrl
from immybot_slack_sandbox.slack_validate import BlockKitError, check_message
from immybot_slack_sandbox.slack_world import SlackWorld

USES_MAX = 5
TTL_SECONDS = 30 * 60


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def handle_webhook(fake: SlackWorld, hook: ResponseUrl | None, body: bytes) -> tuple[int, str]:
    """Apply one response_url post; returns (HTTP status, body) as Slack answers it."""
    if hook is None:
        return 404, "no_service"
    if fake.now() - hook.issued_at > TTL_SECONDS:
        return 404, "expired_url"
    if hook.uses >= USES_MAX:
        return 404, "used_url"
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return 400, "invalid_payload"
    if not isinstance(data, dict):
        return 400, "invalid_payload"
    hook.uses += 1
    hook.posts.append(data)
    if _truthy(data.get("delete_original")):
        return _delete_original(fake, hook)
    text, blocks = data.get("text") or "", data.get("blocks") or []
    try:
        for warning in check_message(text, blocks, where="response_url"):
            fake.warn("response_url", warning)
    except BlockKitError as err:
        fake.violation("response_url", str(err))
        return 400, err.error
    if _truthy(data.get("replace_original")) and hook.kind == "action":
        return _replace_original(fake, hook, text, blocks)
    if data.get("response_type") == "in_channel":
        fake.add_message(hook.channel, fake.bot_user_id, text, blocks, thread_ts=data.get("thread_ts"),
                         via="response_url")
    else:
        fake.add_ephemeral(hook.channel, hook.user, text, blocks, thread_ts=data.get("thread_ts"), via="response_url")
    return 200, "ok"


def _replace_original(fake: SlackWorld, hook: ResponseUrl, text: str, blocks: list[dict]) -> tuple[int, str]:
    if hook.ephemeral_ts:
        for eph in fake.ephemeral_log:
            if eph.ts == hook.ephemeral_ts:
                eph.text, eph.blocks, eph.replaced = text, blocks, True
                return 200, "ok"
        return 404, "message_not_found"
    message = fake.find_message(hook.channel, hook.message_ts or "")
    if message is None:
        return 404, "message_not_found"
    message.history.append(message.snapshot())
    message.text, message.blocks = text, blocks
    return 200, "ok"


def _delete_original(fake: SlackWorld, hook: ResponseUrl) -> tuple[int, str]:
    if hook.ephemeral_ts:
        for eph in fake.ephemeral_log:
            if eph.ts == hook.ephemeral_ts:
                eph.deleted = True
        return 200, "ok"
    message = fake.find_message(hook.channel, hook.message_ts or "")
    if message is None:
        return 404, "message_not_found"
    message.deleted = True
    return 200, "ok"
