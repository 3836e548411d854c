"""What the policy adds to a decision (SPEC §6): several approvals, approval by the policy at submission,
per-rule approval times, and reminders then escalation while a request waits.

Each change is made inside the caller's write transaction (the store's write lock is held from the
first read to the commit), so ten clicks by three approvers at once record each approver once and
complete the request once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.workflow.errors import DomainError
from bot.workflow.model import (
    POLICY_ACTOR,
    SYSTEM_ACTOR,
    AuditEvent,
    Request,
    RequestState,
    RuleRecord,
)
from bot.workflow.policy import Policy
from bot.workflow.ports import Clock, Notifier, RequestStore, StoreTx, Untold
from bot.workflow.records import decision_change, entry, illegal
from bot.workflow.reminder_schedule import ReminderStep, due_steps, reminder_schedule
from bot.workflow.rules import count_approval

log = logging.getLogger(__name__)


class AlreadyApproved(DomainError):
    """The same approver clicked Approve again: nothing changes (`str()` is the polite answer)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        super().__init__(f"You have already approved {request.label}; it still needs another approver. "
                         "Nothing changed.")


def approvals_needed(request: Request) -> int:
    return request.rule.approvals if request.rule is not None else 1


async def _cas(tx: StoreTx, changed: Request, expected: RequestState) -> None:
    if not await tx.update_request(changed, expected):  # pragma: no cover - we hold the write lock
        raise illegal(await tx.get_request(changed.id) or changed, changed.state)


async def add_approval(tx: StoreTx, request: Request, actor: str, now: datetime) -> Request:
    """`actor`'s approval: `approval.added` when the rule needs several, `request.approved` (actor = the
    one who completed it) when the count is reached. The same approver twice raises `AlreadyApproved`."""
    if request.state is not RequestState.PENDING:
        raise illegal(request, RequestState.APPROVED)
    needed = approvals_needed(request)
    verdict = count_approval(needed, request.approved_by, actor)
    if verdict == "duplicate":
        raise AlreadyApproved(request)
    approved_by = [*request.approved_by, actor]
    if verdict == "added":
        changed = request.model_copy(update={"approved_by": approved_by, "updated_at": now})
        await _cas(tx, changed, RequestState.PENDING)
        await tx.append_audit(entry(AuditEvent.APPROVAL_ADDED, changed, actor), now)
        return changed
    change = decision_change(request, "approve", actor, None, now)
    assert change is not None
    changed, event, fields = change
    changed = changed.model_copy(update={"approved_by": approved_by})
    await _cas(tx, changed, RequestState.PENDING)
    if needed > 1:  # with one approval the decision says it all (today's audit, unchanged)
        await tx.append_audit(entry(AuditEvent.APPROVAL_ADDED, changed, actor), now)
    await tx.append_audit(entry(event, changed, actor, **fields), now)
    return changed


async def approve_by_policy(tx: StoreTx, request: Request, rule: RuleRecord, now: datetime) -> Request:
    """A rule with `approvals: 0`: approved at submission, actor `policy`, the rule's name as the reason."""
    changed = request.model_copy(update={"state": RequestState.APPROVED, "decided_by": POLICY_ACTOR,
                                         "decided_at": now, "decision_reason": rule.name,
                                         "auto_approved": True, "updated_at": now})
    await _cas(tx, changed, RequestState.PENDING)
    await tx.append_audit(entry(AuditEvent.REQUEST_APPROVED, changed, POLICY_ACTOR, decision_reason=rule.name), now)
    return changed


async def approve_own_preview(tx: StoreTx, request: Request, now: datetime) -> Request:
    """Without a matching rule: an approver's own preview (detection only) needs no second approver."""
    changed = request.model_copy(update={"state": RequestState.APPROVED, "decided_by": request.requester,
                                         "decided_at": now, "auto_approved": True, "updated_at": now})
    await _cas(tx, changed, RequestState.PENDING)
    await tx.append_audit(entry(AuditEvent.REQUEST_APPROVED, changed, request.requester, outcome="auto_approved"),
                          now)
    return changed


def past_ttl(request: Request, default: timedelta, now: datetime) -> bool:
    """Pending longer than its rule's `ttl_hours` (the settings' APPROVAL_TTL_HOURS without a rule)."""
    ttl = timedelta(hours=request.rule.ttl_hours) if request.rule is not None else default
    return request.created_at + ttl <= now


@dataclass(frozen=True)
class Reminded:
    """Reminder/escalation steps just recorded for a request (to be said in its approval card's thread)."""

    request: Request
    steps: tuple[ReminderStep, ...]


class ReminderTick:
    """One pass of the reminders: every step due by now (from `created_at` and `reminders_done`, both in
    the database) is audited and counted in one transaction, so a restart neither repeats nor loses one;
    after the commit each request's steps are told once."""

    def __init__(self, store: RequestStore, policy: Policy, clock: Clock, notifier: Notifier | None = None) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self._notifier: Notifier = notifier or Untold()

    async def tick(self) -> list[Reminded]:
        reminders = self._policy.doc.reminders
        if reminders is None:
            return []
        now = self._clock()
        done: list[Reminded] = []
        async with self._store.write() as tx:
            for request in await tx.in_states((RequestState.PENDING,)):
                steps = due_steps(reminder_schedule(request.created_at, reminders), request.reminders_done, now)
                if not steps:
                    continue
                escalated = request.escalated or any(s.kind == "escalate" for s in steps)
                changed = request.model_copy(update={"reminders_done": request.reminders_done + len(steps),
                                                     "escalated": escalated})
                await _cas(tx, changed, RequestState.PENDING)
                for step in steps:
                    if step.kind == "remind":
                        event, outcome = AuditEvent.REQUEST_REMINDED, f"reminder {step.number} of {reminders.repeat}"
                    else:
                        event, outcome = AuditEvent.REQUEST_ESCALATED, "escalated to " + ", ".join(
                            sorted(reminders.escalate_to))
                    await tx.append_audit(entry(event, changed, SYSTEM_ACTOR, outcome=outcome), now)
                done.append(Reminded(changed, steps))
        for reminded in done:  # each told on its own: one failure does not silence the others
            try:
                await self._notifier.reminded(reminded.request, reminded.steps)
            except Exception:
                log.exception("reminder notification failed", extra={"request_id": reminded.request.id})
        return done
