"""Slack Web API answers read tolerantly (issue 9): a missing optional field is None, not a KeyError."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.answers import SlackAnswerError, answer_field, opened_channel, posted_ref


def _answer(data: dict[str, Any]) -> AsyncSlackResponse:
    return AsyncSlackResponse(client=None, http_verb="POST", api_url="https://slack.com/api/x", req_args={},
                              data={"ok": True, **data}, headers={}, status_code=200)  # fmt: skip


def test_missing_optional_fields_are_none() -> None:
    user = _answer({"user": {"id": "U1", "profile": {"real_name": "Jane"}}})  # email hidden, no tz
    assert answer_field(user, "user", "profile", "email") is None
    assert answer_field(user, "user", "tz") is None
    assert answer_field(_answer({"user": None}), "user", "profile", "email") is None
    assert answer_field(_answer({"user": "U1"}), "user", "profile") is None


def test_posted_ref_falls_back_to_the_channel_we_posted_to_and_to_message_ts() -> None:
    assert posted_ref(_answer({"ts": "1.2"}), "C1").channel == "C1"
    assert posted_ref(_answer({"channel": "C2", "message": {"ts": "3.4"}}), "C1").ts == "3.4"
    with pytest.raises(SlackAnswerError, match="without the message's ts"):
        posted_ref(_answer({"channel": "C2"}), "C1")


def test_opened_channel_needs_its_id() -> None:
    assert opened_channel(_answer({"channel": {"id": "D1"}})) == "D1"
    with pytest.raises(SlackAnswerError, match=r"channel\.id"):
        opened_channel(_answer({"channel": {}}))
