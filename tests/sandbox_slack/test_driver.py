"""The Slack driver against a tiny Bolt app over real HTTP: signed payloads, acks applied as Slack does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.slack.approvals import ids as approval_ids
from bot.slack.approvals.views import approval_card
from bot.slack.requests import ids as request_ids
from immybot_slack_sandbox.server import serve
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_payloads import SlackClientRefused, values_for
from immybot_slack_sandbox.slack_user import SlackDriver
from tests.sandbox_slack.tiny_bolt import asgi, tiny_app
from tests.slack_fixtures import SLACK_SIGNING_SECRET
from tests.slack_views import samples


@pytest.fixture
async def bolt(fake_slack: FakeSlack) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    async with serve(asgi(tiny_app(fake_slack, SLACK_SIGNING_SECRET, seen))) as served:
        yield served.url, seen


@pytest.fixture
def driver(bolt: tuple[str, list], slack_driver_factory: Callable[..., SlackDriver]) -> SlackDriver:
    return slack_driver_factory(bolt[0])


def test_signatures_verify_with_slack_sdk() -> None:
    driver = SlackDriver(FakeSlack(), signing_secret="s3cret")
    body = "payload=%7B%7D"
    headers = driver.signed_headers(body)
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    forged = driver.signed_headers(body, forge=True)
    assert not verifier.is_valid(body, forged["X-Slack-Request-Timestamp"], forged["X-Slack-Signature"])
    stale = driver.signed_headers(body, stale=True)
    assert not verifier.is_valid(body, stale["X-Slack-Request-Timestamp"], stale["X-Slack-Signature"])


async def test_bad_signatures_get_401_and_change_nothing(fake_slack: FakeSlack, driver: SlackDriver) -> None:
    for opts in ({"forge": True}, {"stale": True}, {"sign": False}):
        reply = await driver.slash("U0ALICE", "C0OPS", **opts)
        assert reply.status == 401, opts
    assert fake_slack.calls("views.open") == []


async def test_request_modal_round_trip(fake_slack: FakeSlack, driver: SlackDriver, bolt: tuple[str, list]) -> None:
    seen = bolt[1]
    assert (await driver.slash("U0ALICE", "C0OPS", "7zip")).status == 200
    await fake_slack.wait_for("views.open", lambda c: c.ok)
    view = fake_slack.latest_view("U0ALICE")
    assert view is not None and json.loads(view.private_metadata) == {"channel": "C0OPS", "prefill": "7zip"}
    options = await driver.suggest("U0ALICE", view, request_ids.SOFTWARE_ACTION, "zip")
    assert [o["value"] for o in options] == ["Global:714"]
    with pytest.raises(SlackClientRefused, match="Reason"):
        await driver.submit("U0ALICE", view, values_for(view.view, software=options[0]))
    empty = values_for(view.view, software=options[0], reason="ticket 7")
    reply = await driver.submit("U0ALICE", view, empty)
    assert reply.json()["response_action"] == "errors"
    assert view.errors == {request_ids.COMPUTERS_BLOCK: "Pick a computer"} and not view.closed
    with pytest.raises(SlackClientRefused, match="at most 3"):
        values_for(view.view, computers=["1", "2", "3", "4"])
    good = values_for(view.view, software=options[0], computers=[("101", "PC-1 · Acme · online")], reason="ticket 7")
    assert (await driver.submit("U0ALICE", view, good)).status == 200
    assert view.closed and fake_slack.latest_view("U0ALICE") is None
    state = seen[-1]
    assert state[request_ids.ACTION_BLOCK][request_ids.ACTION_ACTION]["selected_option"]["value"] == "LatestVersion"
    assert state[request_ids.REBOOT_BLOCK][request_ids.REBOOT_ACTION]["selected_option"]["value"] == "Suppress"
    assert state[request_ids.COMPUTERS_BLOCK][request_ids.COMPUTERS_ACTION]["selected_options"][0]["value"] == "101"
    fake_slack.assert_clean()


async def test_command_ack_text_is_shown_as_ephemeral(fake_slack: FakeSlack, driver: SlackDriver) -> None:
    await driver.slash("U0ALICE", "C0OPS", "help")
    [shown] = fake_slack.ephemerals("U0ALICE")
    assert shown.text == "usage: /immy" and shown.via == "ack"


async def test_click_on_a_card_replaces_it_through_response_url(
    fake_slack: FakeSlack, driver: SlackDriver, slack_client: Any, bolt: tuple[str, list]
) -> None:
    text, blocks = approval_card(samples.request())
    card = await slack_client.chat_postMessage(channel="C0APPROVE", text=text, blocks=blocks)
    reply = await driver.click("U0BOB", "C0APPROVE", card["ts"], approval_ids.APPROVE_ACTION)
    assert reply.status == 200
    await fake_slack.wait_until(lambda: fake_slack.find_message("C0APPROVE", card["ts"]).text == "approved 42")
    body = bolt[1][-1]
    assert body["container"]["message_ts"] == card["ts"] and body["channel"]["id"] == "C0APPROVE"
    assert body["actions"][0]["block_id"] == "approval_buttons:42"
    with pytest.raises(LookupError):
        await driver.click("U0BOB", "C0APPROVE", card["ts"], "no_such_button")


async def test_home_opened_and_retries(fake_slack: FakeSlack, driver: SlackDriver, bolt: tuple[str, list]) -> None:
    assert (await driver.open_home("U0BOB")).status == 200
    await fake_slack.wait_until(lambda: fake_slack.home("U0BOB"))
    first = bolt[1][-1]
    assert first["retry_num"] is None and first["event_id"].startswith("Ev")
    assert (await driver.open_home("U0BOB", event_id=first["event_id"], retry_num=1)).status == 200
    await fake_slack.wait_for("views.publish", count=2)
    assert bolt[1][-1] == {"retry_num": "1", "event_id": first["event_id"]}
    assert (await driver.open_home("U0BOB")).status == 200
    await fake_slack.wait_for("views.publish", count=3)
    assert bolt[1][-1]["event_id"] != first["event_id"]
