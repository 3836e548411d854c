"""The fake Slack's conversations.replies: a thread, parent first; metadata only when asked; strict."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from immybot_slack_sandbox.slack import FakeSlack

META = {"event_type": "immy_request_summary", "event_payload": {"request_id": 7, "part": 0}}


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    return str(caught.value.response["error"])


async def test_replies_parent_first_metadata_only_when_asked_and_files(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    parent = await slack_client.chat_postMessage(channel="C0OPS", text="card")
    await slack_client.chat_postMessage(channel="C0OPS", thread_ts=parent["ts"], text="summary", metadata=META)
    await slack_client.files_upload_v2(
        channel="C0OPS", thread_ts=parent["ts"], content="a\n", filename="immy-request-7.csv", title="#7"
    )
    await slack_client.chat_postMessage(channel="C0OPS", text="elsewhere")

    plain = await slack_client.conversations_replies(channel="C0OPS", ts=parent["ts"])
    assert [m["text"] for m in plain["messages"]] == ["card", "summary", ""]
    assert all("metadata" not in m for m in plain["messages"])

    full = await slack_client.conversations_replies(channel="C0OPS", ts=parent["ts"], include_all_metadata=True)
    assert full["messages"][1]["metadata"] == META
    assert [f["name"] for f in full["messages"][2]["files"]] == ["immy-request-7.csv"]
    assert full["has_more"] is False and full["response_metadata"]["next_cursor"] == ""


async def test_replies_are_paged_by_cursor(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    parent = await slack_client.chat_postMessage(channel="C0OPS", text="card")
    for n in range(4):
        await slack_client.chat_postMessage(channel="C0OPS", thread_ts=parent["ts"], text=f"r{n}")
    texts: list[str] = []
    cursor: str | None = None
    while True:
        page = await slack_client.conversations_replies(channel="C0OPS", ts=parent["ts"], limit=2, cursor=cursor)
        texts += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"] or None
        if cursor is None:
            break
    assert texts == ["card", "r0", "r1", "r2", "r3"]
    assert await _error(slack_client.conversations_replies(channel="C0OPS", ts=parent["ts"], cursor="x")) == (
        "invalid_cursor"
    )


async def test_replies_errors_and_scopes(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    parent = await slack_client.chat_postMessage(channel="C0OPS", text="card")
    assert await _error(slack_client.conversations_replies(channel="C0OPS", ts="1.000009")) == "thread_not_found"
    assert await _error(slack_client.conversations_replies(channel="C0NOPE", ts=parent["ts"])) == "channel_not_found"
    assert await _error(slack_client.conversations_replies(channel="C0OUTSIDE", ts="1.0")) == "not_in_channel"
    bad = AsyncWebClient(token="xoxb-wrong", base_url=fake_slack.api_url)
    assert await _error(bad.conversations_replies(channel="C0OPS", ts=parent["ts"])) == "invalid_auth"
    app = AsyncWebClient(token=fake_slack.app_token, base_url=fake_slack.api_url)
    assert await _error(app.conversations_replies(channel="C0OPS", ts=parent["ts"])) == "not_allowed_token_type"

    fake_slack.granted_scopes = {"chat:write", "groups:history", "im:history"}
    assert await _error(slack_client.conversations_replies(channel="C0OPS", ts=parent["ts"])) == "missing_scope"
    fake_slack.granted_scopes.add("channels:history")
    assert (await slack_client.conversations_replies(channel="C0OPS", ts=parent["ts"]))["ok"]
