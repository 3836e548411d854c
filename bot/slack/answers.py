"""Reading Slack Web API answers tolerantly: a field Slack leaves out is None, never a KeyError.

slack_sdk's `AsyncSlackResponse` is typed only as a mapping (`.get`, `[...]`); these helpers walk it
and the dicts inside it. Where the bot cannot go on without a field (the `ts` of a message it just
posted), `SlackAnswerError` says which method and field, instead of a bare KeyError.
"""

from __future__ import annotations

from typing import Any

from bot.workflow.model import MessageRef


class SlackAnswerError(RuntimeError):
    """A Slack answer lacks a field the bot needs (`ok: true` but no `ts`, say)."""


def answer_field(answer: Any, *path: str) -> Any:
    """`answer[path[0]][path[1]]…`, or None where any step is missing or not a mapping."""
    value = answer
    for key in path:
        getter = getattr(value, "get", None)
        if getter is None:
            return None
        value = getter(key)
    return value


def posted_ref(answer: Any, sent_to: str, method: str = "chat.postMessage") -> MessageRef:
    """The message just posted: its `ts` (top level, or in `message`) in the channel Slack names or we sent to."""
    ts = answer_field(answer, "ts") or answer_field(answer, "message", "ts")
    if not ts:
        raise SlackAnswerError(f"{method} answered without the message's ts")
    return MessageRef(channel=str(answer_field(answer, "channel") or sent_to), ts=str(ts))


def opened_channel(answer: Any) -> str:
    channel = answer_field(answer, "channel", "id")
    if not channel:
        raise SlackAnswerError("conversations.open answered without channel.id")
    return str(channel)
