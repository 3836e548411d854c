"""What a late clicker reads: the request's fate, who decided and when, in plain words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.workflow.errors import IllegalTransition
from bot.workflow.model import RequestState

AT = datetime(2026, 11, 21, 14, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "text"),
    [
        (RequestState.APPROVED, "Request #42 was already approved by <@U1> at 14:02 UTC."),
        (RequestState.STARTING, "Request #42 was already approved by <@U1> at 14:02 UTC and is starting."),
        (RequestState.RUNNING, "Request #42 was already approved by <@U1> at 14:02 UTC and is running."),
        (RequestState.FINISHED, "Request #42 was already approved by <@U1> at 14:02 UTC and has finished."),
        (RequestState.DENIED, "Request #42 was already denied by <@U1> at 14:02 UTC."),
        (RequestState.CANCELLED, "Request #42 was already cancelled by <@U1> at 14:02 UTC."),
        (RequestState.EXPIRED, "Request #42 already expired: nobody decided in time."),
        (RequestState.PENDING, "Request #42 is still pending approval."),
    ],
)
def test_illegal_transition_message(current: RequestState, text: str) -> None:
    by = None if current in (RequestState.EXPIRED, RequestState.PENDING) else "U1"
    error = IllegalTransition(42, current, RequestState.APPROVED, by=by, at=AT if by else None)
    assert str(error) == text
