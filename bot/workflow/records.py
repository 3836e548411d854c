"""What the service writes down: audit entries for a request, and the error for a move not allowed."""

from __future__ import annotations

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
