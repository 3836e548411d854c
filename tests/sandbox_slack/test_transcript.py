"""The transcript shows what people would see: threads indented, edits' latest state, ephemerals, home."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.approvals.views import approval_card
from bot.slack.home.views import home_view
from bot.slack.requests.views import request_card
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.transcript import render_transcript, simplify_mrkdwn
from tests.slack_views import samples


def test_mrkdwn_is_simplified(fake_slack: FakeSlack) -> None:
    text = "<@U0ALICE> see <https://acme.immy.bot/computers/1|PC-1> in <#C0OPS> &lt;b&gt; &amp; <!here>"
    expected = "@alice see PC-1 (https://acme.immy.bot/computers/1) in #it-ops <b> & @here"
    assert simplify_mrkdwn(fake_slack, text) == expected


async def test_transcript_of_a_request(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    request = samples.request(reason="needs <b>bold</b> & fast")
    text, blocks = request_card(request)
    card = await slack_client.chat_postMessage(channel="C0OPS", text=text, blocks=blocks)
    await slack_client.chat_postMessage(channel="C0OPS", thread_ts=card["ts"], text="Starting 3 sessions")
    text, blocks = approval_card(request)
    approval = await slack_client.chat_postMessage(channel="C0APPROVE", text=text, blocks=blocks)
    text, blocks = approval_card(samples.approved())
    await slack_client.chat_update(channel="C0APPROVE", ts=approval["ts"], text=text, blocks=blocks)
    await slack_client.chat_postEphemeral(channel="C0APPROVE", user="U0CAROL", text="Only approvers may decide.")
    await slack_client.views_publish(user_id="U0BOB", view=home_view([], [samples.request(id=43)]))
    out = render_transcript(fake_slack)
    assert "=== #it-ops ===" in out and "=== #immy-approvals ===" in out
    assert "Requested by @alice" in out and "needs <b>bold</b> & fast" in out
    assert "    ↳ ImmyBot" in out and "Starting 3 sessions" in out
    approvals = out.split("=== #immy-approvals ===")[1].split("===")[0]
    assert "(edited)" in approvals and "Approved by @bob at 14:02 UTC" in approvals
    assert "[ Approve ]" not in approvals
    assert "(only visible to you, @carol)" in out and "Only approvers may decide." in out
    assert "=== App Home of @bob ===" in out and "[ Approve ]  [ Deny ]" in out
    assert "#random" not in out
