"""Domain errors. The Slack layer turns each into a message the user understands."""

from __future__ import annotations

from datetime import datetime

from bot.workflow.model import RequestState


class DomainError(Exception):
    """Base class: `str(err)` is safe to show a user."""


class RequestNotFound(DomainError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"There is no request #{request_id}.")
        self.request_id = request_id


class IllegalTransition(DomainError):
    """The request is no longer in a state that allows this move (a stale click, a race lost)."""

    def __init__(
        self,
        request_id: int,
        current: RequestState,
        wanted: RequestState,
        *,
        by: str | None = None,
        at: datetime | None = None,
    ) -> None:
        self.request_id = request_id
        self.current = current
        self.wanted = wanted
        self.by = by
        self.at = at
        super().__init__(_already(request_id, current, by, at))


_AFTER_APPROVAL = {
    RequestState.STARTING: " and is starting",
    RequestState.RUNNING: " and is running",
    RequestState.FINISHED: " and has finished",
}


def _already(request_id: int, current: RequestState, by: str | None, at: datetime | None) -> str:
    """"Request #42 was already approved by @x at 14:02 UTC and is running." — what a late clicker needs."""
    who = f" by <@{by}>" if by else ""
    when = f" at {at:%H:%M} UTC" if at else ""
    if current is RequestState.PENDING:
        return f"Request #{request_id} is still pending approval."
    if current is RequestState.APPROVED or current in _AFTER_APPROVAL:
        return f"Request #{request_id} was already approved{who}{when}{_AFTER_APPROVAL.get(current, '')}."
    if current is RequestState.EXPIRED:
        return f"Request #{request_id} already expired: nobody decided in time."
    return f"Request #{request_id} was already {current.value}{who}{when}."


class NotAllowed(DomainError):
    """Policy refused the actor (not an approver, self-approval, not a requester...)."""


class InvalidSubmission(DomainError):
    """A submission failed validation; `field` names the input it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class SessionsNotDone(DomainError):
    """`finish` was called while some of the request's sessions are not terminal yet."""


class BackendUnavailable(DomainError):
    """ImmyBot could not be reached or asked us to slow down (429, 5xx, timeout, HTML instead of JSON).

    Retry later. `retry_after` is the server's hint in seconds, if any. `maybe_started` is True when a
    start request may have reached ImmyBot anyway (5xx or timeout on the POST): look the sessions up by
    their group id before sending it again.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, maybe_started: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_started = maybe_started


class BackendRejected(DomainError):
    """ImmyBot refused the call for good (a 4xx other than 429): retrying the same call cannot help."""
