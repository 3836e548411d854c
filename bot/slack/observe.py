"""The metrics the Slack features report through (one place that knows the Prometheus names)."""

from __future__ import annotations

from bot import metrics
from bot.workflow.model import Request, RequestState

_STATE_EVENTS = {
    RequestState.PENDING: "request.created",
    RequestState.APPROVED: "request.approved",
    RequestState.DENIED: "request.denied",
    RequestState.EXPIRED: "request.expired",
    RequestState.CANCELLED: "request.cancelled",
    RequestState.FINISHED: "request.finished",
}


def observe_request(request: Request) -> None:
    """Count the step the request just took (call once per step that really happened)."""
    if request.auto_approved and request.state is RequestState.APPROVED:
        metrics.REQUESTS.labels("request.created").inc()
    event = _STATE_EVENTS.get(request.state)
    if event is not None:
        metrics.REQUESTS.labels(event).inc()
    if request.state is RequestState.APPROVED:
        metrics.APPROVALS.inc()
    elif request.state is RequestState.DENIED:
        metrics.DENIALS.inc()
    elif request.state is RequestState.EXPIRED:
        metrics.EXPIRIES.inc()


def observe_refusal(kind: str) -> None:
    metrics.REFUSALS.labels(kind).inc()
