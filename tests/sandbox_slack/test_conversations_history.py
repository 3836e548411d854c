"""The fake Slack's conversations.history and message metadata, as Slack documents them (newest first,
thread replies only when broadcast, metadata only with `include_all_metadata`, cursor paging, scopes)."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.metadata import Metadata
from slack_sdk.web.async_client import AsyncWebClient

from immybot_slack_sandbox.slack import FakeSlack

META = {"event_type": "immybot_audit_checkpoint", "event_payload": {"row": 3, "hash": "ab" * 32}}


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    return str(caught.value.response["error"])


async def test_history_newest_first_metadata_only_when_asked(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    first = await slack_client.chat_postMessage(channel="C0OPS", text="one", metadata=Metadata(**META))
    await slack_client.chat_postMessage(channel="C0OPS", thread_ts=first["ts"], text="hidden reply")
    await slack_client.chat_postMessage(channel="C0OPS", thread_ts=first["ts"], text="shown", reply_broadcast=True)
    await slack_client.chat_postMessage(channel="C0OPS", text="three")
    await slack_client.chat_postMessage(channel="C0APPROVE", text="elsewhere")

    plain = await slack_client.conversations_history(channel="C0OPS")
    assert [m["text"] for m in plain["messages"]] == ["three", "shown", "one"]
    assert all("metadata" not in m for m in plain["messages"])
    full = await slack_client.conversations_history(channel="C0OPS", include_all_metadata=True)
    assert full["messages"][-1]["metadata"] == META and full["messages"][-1]["bot_id"] == fake_slack.bot_id
    assert full["has_more"] is False and full["response_metadata"]["next_cursor"] == ""

    bounded = await slack_client.conversations_history(channel="C0OPS", oldest=first["ts"])
    assert [m["text"] for m in bounded["messages"]] == ["three", "shown"]
    bounded = await slack_client.conversations_history(channel="C0OPS", oldest=first["ts"], inclusive=True)
    assert [m["text"] for m in bounded["messages"]][-1] == "one"


async def test_history_paged_by_cursor(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    for n in range(5):
        await slack_client.chat_postMessage(channel="C0OPS", text=f"m{n}")
    texts: list[str] = []
    cursor: str | None = None
    while True:
        page = await slack_client.conversations_history(channel="C0OPS", limit=2, cursor=cursor)
        texts += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"] or None
        if cursor is None:
            break
    assert texts == ["m4", "m3", "m2", "m1", "m0"]
    assert await _error(slack_client.conversations_history(channel="C0OPS", cursor="x")) == "invalid_cursor"


async def test_invalid_metadata_is_ignored_with_a_warning(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    bad = {"event_type": "immybot.audit checkpoint", "event_payload": {"row": 1}}
    posted = await slack_client.chat_postMessage(channel="C0OPS", text="x", metadata=bad)
    assert posted["ok"] and posted["warning"] == "invalid_metadata_schema"
    full = await slack_client.conversations_history(channel="C0OPS", include_all_metadata=True)
    assert "metadata" not in full["messages"][0]


async def test_history_errors_and_scopes(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    assert await _error(slack_client.conversations_history(channel="C0NOPE")) == "channel_not_found"
    assert await _error(slack_client.conversations_history(channel="C0OUTSIDE")) == "not_in_channel"
    fake_slack.granted_scopes = {"chat:write", "groups:history"}
    assert await _error(slack_client.conversations_history(channel="C0OPS")) == "missing_scope"
    fake_slack.granted_scopes.add("channels:history")
    assert (await slack_client.conversations_history(channel="C0OPS"))["ok"]
