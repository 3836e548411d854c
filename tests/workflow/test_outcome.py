from __future__ import annotations

import pytest

from bot.workflow.model import Outcome, SessionInfo
from bot.workflow.outcome import request_outcome


def _sessions(*statuses: str) -> list[SessionInfo]:
    return [SessionInfo(session_id=i, status=s) for i, s in enumerate(statuses)]


@pytest.mark.parametrize(
    ("statuses", "cancel", "expected"),
    [
        ((), False, Outcome.FAILED),
        (("Passed",), False, Outcome.PASSED),
        (("Passed", "Passed"), True, Outcome.PASSED),
        (("Passed", "Cancelled"), True, Outcome.CANCELLED),
        (("Passed", "TimedOut"), False, Outcome.TIMED_OUT),
        (("Failed", "TimedOut"), False, Outcome.TIMED_OUT),
        (("Passed", "Failed"), False, Outcome.PARTIAL),
        (("PartialPassed",), False, Outcome.PARTIAL),
        (("Failed", "Missed"), False, Outcome.FAILED),
        (("Cancelled",), False, Outcome.FAILED),
    ],
)
def test_outcome_precedence(statuses: tuple[str, ...], cancel: bool, expected: Outcome) -> None:
    assert request_outcome(_sessions(*statuses), cancel_requested=cancel) is expected
