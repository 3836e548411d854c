"""The modal's "When" as Slack submits it (view.state.values), parsed into a Schedule or a field error."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from bot.slack.requests import ids
from bot.slack.requests.form import FormError, parse_request_form
from bot.workflow.schedule import When


def _view(when: str | None = None, picked: str | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {
        ids.REASON_BLOCK: {ids.REASON_ACTION: {"type": "plain_text_input", "value": "ticket 1"}},
        ids.WHEN_TIME_BLOCK: {ids.WHEN_TIME_ACTION: {"type": "timepicker", "selected_time": picked}},
    }
    if when is not None:
        values[ids.WHEN_BLOCK] = {ids.WHEN_ACTION: {"type": "radio_buttons", "selected_option": {
            "text": {"type": "plain_text", "text": when}, "value": when}}}
    return {"state": {"values": values}, "private_metadata": '{"channel":"C1"}'}


def test_now_is_the_default() -> None:
    form = parse_request_form({"state": {"values": {}}})
    assert form.when is When.NOW and form.run_time is None
    assert form.schedule("Europe/Berlin").run_fields() == {}


def test_after_hours_and_at_a_time() -> None:
    assert parse_request_form(_view("after_hours")).schedule(None).run_fields() == {
        "scheduleExecutionAfterActiveHours": True}
    form = parse_request_form(_view("at_time", "18:30"))
    assert form.when is When.AT_TIME and form.run_time == time(18, 30)
    schedule = form.schedule(None)
    assert schedule.tz == "UTC" and schedule.tz_fallback


@pytest.mark.parametrize(("when", "picked", "block"), [
    ("at_time", None, ids.WHEN_TIME_BLOCK),  # At a time without a time
    ("now", "18:30", ids.WHEN_BLOCK),  # a time without At a time
    ("after_hours", "18:30", ids.WHEN_BLOCK),
    ("at_time", "25:99", ids.WHEN_TIME_BLOCK),  # not a time Slack would send
    ("tomorrow", None, ids.WHEN_BLOCK),  # not one of the choices
])
def test_inconsistent_choices_are_errors_on_the_right_block(when: str, picked: str | None, block: str) -> None:
    with pytest.raises(FormError) as raised:
        parse_request_form(_view(when, picked))
    assert list(raised.value.errors) == [block]
