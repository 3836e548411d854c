"""What the service writes down: audit entries for a request, and the error for a move not allowed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.workflow.errors import IllegalTransition
from bot.workflow.model import SYSTEM_ACTOR, AuditEntry, AuditEvent, Draft, Request, RequestState


def draft_fields(draft: Draft | Request) -> dict[str, Any]:
    return {
        "requester": draft.requester,
        "software": draft.software.model_dump(mode="json"),
        "action": draft.action.value,
        "targets": draft.targets.audit_list(),
        "reason": draft.reason,
    }


def entry(event: AuditEvent, request: Request, actor: str, **fields: Any) -> AuditEntry:
    return AuditEntry(event=event.value, actor=actor, request_id=request.id, **draft_fields(request), **fields)


def illegal(request: Request, wanted: RequestState) -> IllegalTransition:
    if request.state is RequestState.CANCELLED or request.cancel_requested:
        by, at = request.cancelled_by, request.cancelled_at
    else:
        by, at = request.decided_by, request.decided_at
    return IllegalTransition(request.id, request.state, wanted, by=None if by == SYSTEM_ACTOR else by, at=at)


_CANCELLABLE = (RequestState.PENDING, RequestState.APPROVED, RequestState.STARTING)


def decision_change(
    request: Request, action: str, actor: str, reason: str | None, now: datetime
) -> tuple[Request, AuditEvent, dict[str, Any]] | None:
    """The request after `actor`'s approve/deny/cancel and what to audit; None when nothing changes (a running
    request already being cancelled). Raises `IllegalTransition` for a move its state does not allow."""
    state = request.state
    if action == "cancel":
        if state is RequestState.RUNNING:
            if request.cancel_requested:
                return None
            update: dict[str, Any] = {"cancel_requested": True}
        elif state in _CANCELLABLE:
            update = {"state": RequestState.CANCELLED}
        else:
            raise illegal(request, RequestState.CANCELLED)
        update |= {"cancelled_by": actor, "cancelled_at": now}
        event = AuditEvent.REQUEST_CANCELLED
        fields: dict[str, Any] = {}
    else:
        wanted = RequestState.APPROVED if action == "approve" else RequestState.DENIED
        if state is not RequestState.PENDING:
            raise illegal(request, wanted)
        update = {"state": wanted, "decided_by": actor, "decided_at": now}
        if action == "deny":
            update["decision_reason"] = reason
            event, fields = AuditEvent.REQUEST_DENIED, {"decision_reason": reason}
        else:
            event, fields = AuditEvent.REQUEST_APPROVED, {}
    return request.model_copy(update={**update, "updated_at": now}), event, fields
