"""The fake Slack's Web API over real HTTP with slack_sdk's AsyncWebClient: as strict as Slack."""

from __future__ import annotations

import asyncio
import time

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.requests.views import request_modal
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_seed import SeededWorkspace

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    return caught.value.response["error"]


async def test_tokens(fake_slack: FakeSlack) -> None:
    bad = AsyncWebClient(token="xoxb-wrong", base_url=fake_slack.api_url)
    assert await _error(bad.auth_test()) == "invalid_auth"
    assert await _error(AsyncWebClient(base_url=fake_slack.api_url).auth_test()) == "not_authed"
    app_token = AsyncWebClient(token=fake_slack.app_token, base_url=fake_slack.api_url)
    assert await _error(app_token.chat_postMessage(channel="C0OPS", text="x")) == "not_allowed_token_type"
    assert fake_slack.messages("C0OPS") == []


async def test_auth_test_and_form_token(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    me = await slack_client.auth_test()
    assert me["user_id"] == fake_slack.bot_user_id and me["team_id"] == fake_slack.team_id
    legacy = AsyncWebClient(base_url=fake_slack.api_url)
    reply = await legacy.api_call("auth.test", data={"token": fake_slack.bot_token})
    assert reply["ok"] and "token" not in fake_slack.calls("auth.test")[-1].params


async def test_post_update_thread_and_dm(
    fake_slack: FakeSlack, slack_client: AsyncWebClient, slack_workspace: SeededWorkspace
) -> None:
    ws = slack_workspace
    parent = await slack_client.chat_postMessage(channel=ws.ops_channel, text="card", blocks=[SECTION])
    reply = await slack_client.chat_postMessage(channel=ws.ops_channel, thread_ts=parent["ts"], text="reply")
    await slack_client.chat_update(channel=ws.ops_channel, ts=parent["ts"], text="card v2", blocks=[SECTION])
    [card] = fake_slack.messages(ws.ops_channel)
    assert card.text == "card v2" and card.edited and card.history[0]["text"] == "card"
    assert [m.ts for m in fake_slack.thread(ws.ops_channel, parent["ts"])] == [reply["ts"]]
    assert await _error(slack_client.chat_postMessage(channel=ws.outside_channel, text="x")) == "not_in_channel"
    assert await _error(slack_client.chat_postMessage(channel="C0NOPE", text="x")) == "channel_not_found"
    assert await _error(slack_client.chat_update(channel=ws.ops_channel, ts="1.2", text="x")) == "message_not_found"
    dm = await slack_client.chat_postMessage(channel=ws.requester, text="psst")
    assert dm["channel"].startswith("D") and fake_slack.messages(ws.requester)[0].text == "psst"
    opened = await slack_client.conversations_open(users=[ws.requester])
    assert opened["channel"]["id"] == dm["channel"]
    info = await slack_client.conversations_info(channel=ws.outside_channel)
    assert info["channel"]["is_member"] is False
    link = await slack_client.chat_getPermalink(channel=ws.ops_channel, message_ts=parent["ts"])
    assert link["permalink"].startswith(fake_slack.url)


async def test_ephemeral_users_and_groups(
    fake_slack: FakeSlack, slack_client: AsyncWebClient, slack_workspace: SeededWorkspace
) -> None:
    ws = slack_workspace
    await slack_client.chat_postEphemeral(channel=ws.ops_channel, user=ws.requester, text="only you")
    assert [e.text for e in fake_slack.ephemerals(ws.requester)] == ["only you"]
    assert await _error(
        slack_client.chat_postEphemeral(channel=ws.approval_channel, user=ws.requester, text="x")
    ) == "user_not_in_channel"
    user = await slack_client.users_info(user=ws.approver)
    assert user["user"]["profile"]["email"] == "bob@example.com"
    assert await _error(slack_client.users_info(user="U0GHOST")) == "user_not_found"
    group = await slack_client.usergroups_users_list(usergroup=ws.approvers_group)
    assert group["users"] == [ws.approver]
    assert await _error(slack_client.usergroups_users_list(usergroup="S0NONE")) == "no_such_subteam"


async def test_block_kit_violations_are_rejected_and_recorded(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    too_many = [SECTION | {"block_id": f"b{i}"} for i in range(51)]
    assert await _error(slack_client.chat_postMessage(channel="C0OPS", text="x", blocks=too_many)) == "invalid_blocks"
    long_option = {
        "type": "actions",
        "elements": [{"type": "static_select", "action_id": "a",
                      "options": [{"text": {"type": "plain_text", "text": "y" * 76}, "value": "v"}]}],
    }
    assert await _error(slack_client.chat_postMessage(channel="C0OPS", text="x", blocks=[long_option])) == (
        "invalid_blocks"
    )
    dup = [SECTION | {"block_id": "same"}, SECTION | {"block_id": "same"}]
    assert await _error(slack_client.chat_postMessage(channel="C0OPS", text="x", blocks=dup)) == "invalid_blocks"
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "z" * 3001}}]
    assert await _error(slack_client.chat_postMessage(channel="C0OPS", text="x", blocks=long_section)) == (
        "invalid_blocks"
    )
    assert await _error(slack_client.chat_postMessage(channel="C0OPS", text="")) == "no_text"
    assert len(fake_slack.violations) == 5 and fake_slack.messages("C0OPS") == []
    with pytest.raises(AssertionError):
        fake_slack.assert_clean()
    with pytest.warns(UserWarning, match="text"):
        await slack_client.chat_postMessage(channel="C0OPS", blocks=[SECTION])
    assert "fallback" in fake_slack.warnings[-1].message


async def test_triggers_expire_after_three_seconds_and_are_single_use(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    modal = request_modal(channel_id="C0OPS", max_targets=25)
    late = fake_slack.mint_trigger("U0ALICE")
    fake_slack.advance(3.1)
    assert await _error(slack_client.views_open(trigger_id=late, view=modal)) == "expired_trigger_id"
    fresh = fake_slack.mint_trigger("U0ALICE")
    opened = await slack_client.views_open(trigger_id=fresh, view=modal)
    assert fake_slack.latest_view("U0ALICE").id == opened["view"]["id"]
    assert await _error(slack_client.views_open(trigger_id=fresh, view=modal)) == "exchanged_trigger_id"
    assert await _error(slack_client.views_open(trigger_id="1.2.nope", view=modal)) == "invalid_trigger_id"


async def test_views_update_honours_hash_and_external_id(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    modal = request_modal(channel_id="C0OPS", max_targets=25) | {"external_id": "req-draft-1"}
    opened = (await slack_client.views_open(trigger_id=fake_slack.mint_trigger("U0ALICE"), view=modal))["view"]
    updated = await slack_client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    assert updated["view"]["hash"] != opened["hash"]
    stale = slack_client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    assert await _error(stale) == "hash_conflict"
    by_external = await slack_client.views_update(external_id="req-draft-1", view=modal)
    assert by_external["view"]["id"] == opened["id"]
    assert await _error(slack_client.views_update(view_id="V0NONE", view=modal)) == "not_found"
    pushed = await slack_client.views_push(trigger_id=fake_slack.mint_trigger("U0ALICE"), view=request_modal(
        channel_id="C0OPS", max_targets=1))
    assert pushed["view"]["previous_view_id"] == opened["id"]
    bad = modal | {"title": {"type": "plain_text", "text": "x" * 25}, "external_id": None}
    assert await _error(slack_client.views_open(trigger_id=fake_slack.mint_trigger("U0ALICE"), view=bad)) == (
        "invalid_blocks"
    )


async def test_views_publish_home(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [SECTION]}
    await slack_client.views_publish(user_id="U0BOB", view=home)
    assert fake_slack.home("U0BOB") == home
    too_big = {"type": "home", "blocks": [SECTION] * 101}
    assert await _error(slack_client.views_publish(user_id="U0BOB", view=too_big)) == "invalid_blocks"


async def test_rate_limit_then_success_through_the_retry_handler(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=0)
    reply = await slack_client.chat_postMessage(channel="C0OPS", text="eventually")
    calls = fake_slack.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200] and calls[0].error == "ratelimited" and reply["ok"]
    fake_slack.rate_limit("chat.update", times=1, retry_after=7)
    plain = AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url, retry_handlers=[])
    with pytest.raises(SlackApiError) as caught:
        await plain.chat_update(channel="C0OPS", ts=reply["ts"], text="x")
    assert caught.value.response.status_code == 429 and caught.value.response.headers["Retry-After"] == "7"


async def test_fail_and_latency_knobs(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.fail("users.info", "fatal_error", times=1)
    assert await _error(slack_client.users_info(user="U0BOB")) == "fatal_error"
    assert (await slack_client.users_info(user="U0BOB"))["ok"]
    fake_slack.latency("auth.test", 0.2)
    started = time.monotonic()
    await slack_client.auth_test()
    assert time.monotonic() - started >= 0.2


async def test_files_upload_v2_round_trip(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    parent = await slack_client.chat_postMessage(channel="C0OPS", text="card")
    reply = await slack_client.files_upload_v2(
        channel="C0OPS", thread_ts=parent["ts"], content="a,b\n1,2\n", filename="audit.csv", title="Audit",
        initial_comment="the CSV",
    )
    file = fake_slack.files[reply["file"]["id"]]
    assert file.text == "a,b\n1,2\n" and file.title == "Audit" and file.thread_ts == parent["ts"]
    [note] = fake_slack.thread("C0OPS", parent["ts"])
    assert note.files == [file.id] and note.text == "the CSV"


async def test_response_urls_are_recorded(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    url = fake_slack.mint_response_url("command", "U0ALICE", "C0OPS")
    hook = AsyncWebhookClient(url)
    assert (await hook.send(text="just you")).status_code == 200
    assert (await hook.send(text="everyone", response_type="in_channel")).status_code == 200
    assert [e.text for e in fake_slack.ephemerals("U0ALICE")] == ["just you"]
    assert fake_slack.messages("C0OPS")[-1].text == "everyone"
    bad = await hook.send(text="x", blocks=[SECTION] * 51)
    assert bad.status_code == 400 and bad.body == "invalid_blocks"
    await hook.send(text="4")
    assert (await hook.send(text="5")).status_code == 200
    assert (await hook.send(text="6")).body == "used_url"
    card = await slack_client.chat_postMessage(channel="C0OPS", text="card")
    action = AsyncWebhookClient(fake_slack.mint_response_url("action", "U0BOB", "C0OPS", message_ts=card["ts"]))
    await action.send(text="decided", replace_original=True)
    assert fake_slack.find_message("C0OPS", card["ts"]).text == "decided"
    hook_record = fake_slack.response_urls[action.url.rsplit("/", 1)[1]]
    assert hook_record.posts == [{"text": "decided", "replace_original": True}]
    expiring = AsyncWebhookClient(fake_slack.mint_response_url("command", "U0ALICE", "C0OPS"))
    fake_slack.advance(31 * 60)
    assert (await expiring.send(text="late")).body == "expired_url"


async def test_wait_for_sees_calls_still_to_come(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await slack_client.chat_postMessage(channel="C0OPS", text="second")

    await slack_client.chat_postMessage(channel="C0OPS", text="first")
    task = asyncio.create_task(later())
    call = await fake_slack.wait_for("chat.postMessage", lambda c: c.params["text"] == "second", timeout=2)
    assert call.ok
    await task
    with pytest.raises(TimeoutError):
        await fake_slack.wait_for("chat.delete", timeout=0.05)
