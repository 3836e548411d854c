"""Which computers a "Retry failed" retries, and why a retry is refused (SPEC §7). Pure domain."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from bot.workflow.model import SessionResult

PASSED = "Passed"


class RetryRefusal(StrEnum):
    NOT_ALLOWED = "not_allowed"  # neither the requester nor an approver
    WINDOW_PASSED = "window_passed"  # the approval is older than RETRY_WINDOW_HOURS
    ALREADY_RETRIED = "already_retried"  # this summary's button was used already
    NOTHING_TO_RETRY = "nothing_to_retry"  # every computer passed


def did_not_pass(results: Sequence[SessionResult]) -> list[SessionResult]:
    """The computers a retry runs again: every session that did not end Passed (partly passed, failed,
    cancelled, missed, timed out), once per computer, in the summary's order."""
    seen: set[int | str] = set()
    out: list[SessionResult] = []
    for result in results:
        key: int | str = result.computer_id if result.computer_id is not None else f"session:{result.session_id}"
        if result.status != PASSED and key not in seen:
            seen.add(key)
            out.append(result)
    return out
