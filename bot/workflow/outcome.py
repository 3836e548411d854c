"""How a finished request ended, from its sessions (SPEC §4 `request.finished` outcome).

Precedence, first match wins:
1. no sessions at all (ImmyBot started nothing)            -> failed
2. every session Passed                                      -> passed (a late cancel changed nothing)
3. an approver asked to cancel it                            -> cancelled
4. any session hit SESSION_MAX_WAIT_HOURS                    -> timed_out
5. some Passed or PartialPassed, some not                    -> partial
6. none passed                                               -> failed
"""

from __future__ import annotations

from bot.workflow.model import TIMED_OUT, Outcome, SessionInfo

_PASSED = "Passed"
_SOME_PASSED = frozenset({"Passed", "PartialPassed"})


def request_outcome(sessions: list[SessionInfo], *, cancel_requested: bool) -> Outcome:
    if not sessions:
        return Outcome.FAILED
    statuses = [s.status for s in sessions]
    if all(status == _PASSED for status in statuses):
        return Outcome.PASSED
    if cancel_requested:
        return Outcome.CANCELLED
    if TIMED_OUT in statuses:
        return Outcome.TIMED_OUT
    if any(status in _SOME_PASSED for status in statuses):
        return Outcome.PARTIAL
    return Outcome.FAILED
