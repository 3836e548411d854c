"""RequestService: the one door to the request lifecycle (Slack layer and session follower).

Every state change is one compare-and-set inside `BEGIN IMMEDIATE` with its audit row (and its
dedup key, when given) in the same transaction: fifty Approve clicks make one approval, and a
Slack retry replays the original result instead of acting twice.

Each step people take is a use-case here: it makes the change, claims its once-only announcement in
the same transaction, and after the commit tells the `Notifier` once and sets the `Runs` going. A
replayed click or a lost race tells nobody and starts nothing.

    pending -> approved -> starting -> running -> finished
    pending -> denied | expired | cancelled;  approved | starting -> cancelled
    running + approver cancel -> cancel_requested (the follower cancels the sessions, then finish)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.workflow.approvals import add_approval, approve_by_policy, approve_own_preview, past_ttl
from bot.workflow.errors import DomainError, InvalidSubmission, NotAllowed, RequestNotFound
from bot.workflow.model import (
    EFFECT_TTL_SECONDS,
    SYSTEM_ACTOR,
    AuditEntry,
    AuditEvent,
    Decided,
    Draft,
    Effect,
    Request,
    RequestState,
    RuleRecord,
)
from bot.workflow.policy import RATE_WINDOW, Decision, Policy
from bot.workflow.ports import Clock, NoRuns, Notifier, RequestStore, Runs, StoreTx, Untold
from bot.workflow.records import decision_change, draft_fields, entry
from bot.workflow.run_steps import RunSteps, utc_now

__all__ = ["DEDUP_TTL", "RequestService", "utc_now"]

log = logging.getLogger(__name__)

Answer = Callable[[], Awaitable[object]]
"""The caller's own answer to whoever asked (a modal's ack): awaited once the change is committed and
before anyone else is told, so telling never delays it."""

DEDUP_TTL = timedelta(hours=24)  # Slack retries within minutes; a day is well past any replay
_EFFECT_TTL = timedelta(seconds=EFFECT_TTL_SECONDS)
_REFUSED = "refused:"


class RequestService(RunSteps):
    def __init__(self, store: RequestStore, policy: Policy, *, clock: Clock = utc_now,
                 notifier: Notifier | None = None, runs: Runs | None = None) -> None:
        super().__init__(store, clock=clock)
        self._policy = policy
        self._notifier: Notifier = notifier or Untold()
        self._runs: Runs = runs or NoRuns()

    def telling(self, notifier: Notifier, runs: Runs) -> RequestService:
        """The same service whose steps are told through `notifier` and set `runs` going (the composition
        root builds the follower and the notifier on the silent one first: they only read and move)."""
        return RequestService(self._store, self._policy, clock=self._clock, notifier=notifier, runs=runs)

    # ---- submissions ------------------------------------------------------------------------

    async def submit(self, draft: Draft, *, dedup_key: str | None = None, answer: Answer | None = None) -> Request:
        """Record a request (or return the one this `dedup_key` recorded); the call that recorded it then
        tells it and starts its preview, or its run when it is approved at once."""
        request, told = await self._submit(draft, dedup_key)
        if answer is not None:
            await answer()
        if told:  # a replayed submission is told nothing: the call that recorded it did
            await self._notifier.created(request)
            self._runs.preview_in_background(request.id)  # only a pending request that is not a preview gets one
            if request.state is RequestState.APPROVED:  # by a policy rule, or an approver's own preview
                self._runs.start_in_background(request.id)
        return request

    async def _submit(self, draft: Draft, dedup_key: str | None) -> tuple[Request, bool]:
        try:
            await self._policy.check_submission(draft)
        except (NotAllowed, InvalidSubmission) as error:
            # No dedup key is stored for a refusal: Slack resubmits the corrected modal with the same view id.
            if dedup_key is not None:
                async with self._store.read() as tx:
                    if (replay := await self._replayed_request(tx, dedup_key)) is not None:
                        return replay, False  # the original went through; membership changed since
            await self.refuse(draft.requester, str(error), draft)
            raise
        rule = await self._policy.rule_for(draft)
        auto = rule.implicit and self._policy.auto_approves(draft, await self._policy.is_approver(draft.requester))
        now = self._clock()
        told = False
        async with self._store.write() as tx:
            if dedup_key is not None and (replay := await self._replayed_request(tx, dedup_key)) is not None:
                return replay, False
            # counted under the write lock, so parallel submissions cannot all slip under the limit
            if (limited := await self._over_rate(tx, draft.requester, now)) is not None:
                await tx.append_audit(AuditEntry(event=AuditEvent.REQUEST_REFUSED.value, actor=draft.requester,
                                                 outcome=str(limited), **draft_fields(draft)), now)
            else:
                request = await self._record(tx, draft, now, auto=auto, dedup_key=dedup_key, rule=rule)
                told = await tx.claim(Effect.CARDS_POSTED.key(request.id), now, now + _EFFECT_TTL)
        if limited is not None:
            raise limited
        return request, told

    async def _record(self, tx: StoreTx, draft: Draft, now: datetime, *, auto: bool, dedup_key: str | None,
                      rule: RuleRecord) -> Request:
        # the schedule is pinned once, at submission: the cards never drift to another day when re-rendered
        request = await tx.insert_request(draft.model_copy(update={"schedule": draft.schedule.pin(now)}), now)
        request = request.model_copy(update={"rule": rule})
        await self._cas(tx, request, RequestState.PENDING)
        await tx.append_audit(entry(AuditEvent.REQUEST_CREATED, request, draft.requester), now)
        if rule.approvals == 0:
            request = await approve_by_policy(tx, request, rule, now)
        if auto:
            request = await approve_own_preview(tx, request, now)
        if dedup_key is not None:
            await tx.dedup_put(dedup_key, str(request.id), now + DEDUP_TTL)
        return request

    async def _over_rate(self, tx: StoreTx, requester: str, now: datetime) -> InvalidSubmission | None:
        return self._policy.rate_refusal(await tx.count_requests_since(requester, now - RATE_WINDOW))

    async def admit(self, requester: str) -> None:
        """May this person request now (REQUESTERS, hourly limit)? Checked before anything is looked up
        for their submission (a person's email, ImmyBot); a refusal is audited and raised."""
        error: DomainError | None = None
        if not await self._policy.may_request(requester):
            error = NotAllowed(self._policy.not_allowed_text(requester))
        if error is None:
            async with self._store.read() as tx:
                error = await self._over_rate(tx, requester, self._clock())
        if error is not None:
            await self.refuse(requester, str(error))
            raise error

    async def _replayed_request(self, tx: StoreTx, dedup_key: str) -> Request | None:
        hit = await tx.dedup_get(dedup_key, self._clock())
        return await tx.get_request(int(hit)) if hit and hit.isdigit() else None

    async def refuse(self, requester: str, reason: str, draft: Draft | None = None) -> None:
        fields = draft_fields(draft) if draft is not None else {"requester": requester}
        now = self._clock()
        async with self._store.write() as tx:
            await tx.append_audit(
                AuditEntry(event=AuditEvent.REQUEST_REFUSED.value, actor=requester, outcome=reason, **fields), now
            )

    # ---- decisions --------------------------------------------------------------------------

    async def approve(self, request_id: int, actor: str, *, dedup_key: str | None = None) -> Request:
        return (await self.decide("approve", request_id, actor, dedup_key=dedup_key)).request

    async def deny(self, request_id: int, actor: str, reason: str, *, dedup_key: str | None = None) -> Request:
        return (await self.decide("deny", request_id, actor, reason=reason, dedup_key=dedup_key)).request

    async def cancel(self, request_id: int, actor: str, *, dedup_key: str | None = None) -> Request:
        return (await self.decide("cancel", request_id, actor, dedup_key=dedup_key)).request

    async def decide(
        self, action: Decision, request_id: int, actor: str, *, reason: str = "", dedup_key: str | None = None,
        answer: Answer | None = None,
    ) -> Decided:
        """Approve, deny or cancel: the one place a decision is de-duplicated (its click's key) and its
        announcement claimed, in the transaction that makes the change; the call that made it then tells
        it and starts (or stops) what follows from it."""
        decided = await self._decide(request_id, actor, action, dedup_key, reason.strip() or None)
        if answer is not None:
            await answer()
        if decided.tell:
            await self._tell_decision(action, decided.request, actor)
        return decided

    async def _decide(
        self, request_id: int, actor: str, action: Decision, dedup_key: str | None, reason: str | None = None
    ) -> Decided:
        is_approver = await self._policy.may_decide(actor, await self._peek(request_id))
        now = self._clock()
        if dedup_key is not None:
            # a key names one click on one request: a replayed result never decides another request
            dedup_key = f"{action}:{request_id}:{dedup_key}"
        replayed: str | None = None
        refusal: str | None = None
        tell = False
        async with self._store.write() as tx:
            found, replayed = await tx.get_request_and_key(request_id, dedup_key, now)
            if replayed is None:
                if found is None:
                    raise RequestNotFound(request_id)
                request = found
                refusal = self._policy.decision_refusal(action, actor, is_approver, request)
                if refusal is not None:
                    await tx.append_audit(entry(AuditEvent.DECISION_REFUSED, request, actor, outcome=refusal), now)
                    result = _REFUSED + refusal
                else:
                    before = request
                    request = await self._apply(tx, request, action, actor, reason, now)
                    result = str(request.id)
                    if request is not before:  # this call changed it: it alone tells people
                        effect = Effect.CANCEL_TOLD if action == "cancel" else Effect.DECISION_TOLD
                        key = effect.key(request.id)
                        if request.state is RequestState.PENDING:  # one of several approvals
                            key = f"{Effect.APPROVAL_TOLD.key(request.id)}:{actor}"
                        tell = await tx.claim(key, now, now + _EFFECT_TTL)
                if dedup_key is not None:
                    await tx.dedup_put(dedup_key, result, now + DEDUP_TTL)
        if replayed is not None:
            if replayed.startswith(_REFUSED):
                raise NotAllowed(replayed.removeprefix(_REFUSED))
            if found is None:
                raise RequestNotFound(request_id)
            return Decided(found, tell=False)
        if refusal is not None:
            raise NotAllowed(refusal)
        return Decided(request, tell=tell)

    async def _tell_decision(self, action: Decision, request: Request, actor: str) -> None:
        """The decision's outward steps, once, by the call that made it (its claim is in `tell`)."""
        if action == "cancel":
            await self._runs.cancel(request.id)  # a running request's sessions; else its preview's
            await self._notifier.cancelled(request, actor)
        elif request.state is RequestState.PENDING:  # one of several approvals: the card shows "1 of 2"
            await self._notifier.approval_added(request, actor)
        else:
            try:
                await self._notifier.decided(request, actor)
            finally:  # what was decided happens even when telling it failed
                if request.state is RequestState.APPROVED:
                    self._runs.start_in_background(request.id)
                else:  # denied: its preview's sessions, if still running, are cancelled
                    self._runs.stop_preview(request.id)

    async def _apply(
        self, tx: StoreTx, request: Request, action: Decision, actor: str, reason: str | None, now: datetime
    ) -> Request:
        if action == "approve":
            return await add_approval(tx, request, actor, now)
        change = decision_change(request, action, actor, reason, now)
        if change is None:
            return request  # a running request already being cancelled
        changed, event, fields = change
        await self._cas(tx, changed, request.state)
        await tx.append_audit(entry(event, changed, actor, **fields), now)
        return changed

    async def expire_due(self) -> list[Request]:
        now = self._clock()
        expired: list[Request] = []
        async with self._store.write() as tx:
            for request in await tx.pending_created_before(now - self._policy.min_ttl):
                if not past_ttl(request, self._policy.approval_ttl, now):
                    continue
                changed = request.model_copy(update={"state": RequestState.EXPIRED, "decided_by": SYSTEM_ACTOR,
                                                     "decided_at": now, "updated_at": now})
                await self._cas(tx, changed, RequestState.PENDING)
                await tx.append_audit(entry(AuditEvent.REQUEST_EXPIRED, changed, SYSTEM_ACTOR), now)
                expired.append(changed)
            await tx.prune_dedup(now)
        for request in expired:  # each told on its own: one failure does not silence the others
            try:
                await self._notifier.expired(request)
            except Exception:
                log.exception("expiry notification failed", extra={"request_id": request.id})
        return expired

    # ---- reads ------------------------------------------------------------------------------

    async def recent_for(self, user: str, limit: int = 10) -> list[Request]:
        async with self._store.read() as tx:
            return await tx.recent_for(user, limit)

    async def pending(self, limit: int = 20) -> list[Request]:
        async with self._store.read() as tx:
            return await tx.in_states((RequestState.PENDING,), limit)

    async def audit_rows(
        self,
        *,
        since: datetime | None = None,
        request_id: int | None = None,
        actor: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Newest-last SPEC-shaped rows; `actor` matches rows where that user acted or requested."""
        async with self._store.read() as tx:
            return await tx.audit_rows(since=since, request_id=request_id, user=actor, limit=limit)

    # ---- helpers ----------------------------------------------------------------------------

    async def _peek(self, request_id: int) -> Request | None:
        async with self._store.read() as tx:
            return await tx.get_request(request_id)
