"""RequestService: the one door to the request lifecycle (Slack layer and session follower).

Every state change is one compare-and-set inside `BEGIN IMMEDIATE` with its audit row (and its
dedup key, when given) in the same transaction: fifty Approve clicks make one approval, and a
Slack retry replays the original result instead of acting twice.

    pending -> approved -> starting -> running -> finished
    pending -> denied | expired | cancelled;  approved | starting -> cancelled
    running + approver cancel -> cancel_requested (the follower cancels the sessions, then finish)
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.workflow.approvals import add_approval, approve_by_policy, approve_own_preview, past_ttl
from bot.workflow.errors import DomainError, InvalidSubmission, NotAllowed, RequestNotFound, SessionsNotDone
from bot.workflow.model import (
    EFFECT_TTL_SECONDS,
    SYSTEM_ACTOR,
    TERMINAL_SESSION_STATUSES,
    TIMED_OUT,
    AuditEntry,
    AuditEvent,
    Decided,
    Draft,
    Effect,
    MessageRef,
    Request,
    RequestState,
    RuleRecord,
    SessionInfo,
)
from bot.workflow.outcome import request_outcome
from bot.workflow.policy import RATE_WINDOW, Decision, Policy
from bot.workflow.ports import Clock, RequestStore, StoreTx
from bot.workflow.records import decision_change, draft_fields, entry, illegal
from bot.workflow.retry_run import retried_entry
from bot.workflow.scheduling import started_outcome

DEDUP_TTL = timedelta(hours=24)  # Slack retries within minutes; a day is well past any replay
_REFUSED = "refused:"


def utc_now() -> datetime:
    return datetime.now(UTC)


class RequestService:
    def __init__(self, store: RequestStore, policy: Policy, *, clock: Clock = utc_now) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock

    # ---- submissions ------------------------------------------------------------------------

    async def submit(self, draft: Draft, *, dedup_key: str | None = None) -> Request:
        try:
            await self._policy.check_submission(draft)
        except (NotAllowed, InvalidSubmission) as error:
            # No dedup key is stored for a refusal: Slack resubmits the corrected modal with the same view id.
            if dedup_key is not None:
                async with self._store.read() as tx:
                    if (replay := await self._replayed_request(tx, dedup_key)) is not None:
                        return replay  # the original went through; membership changed since
            await self.refuse(draft.requester, str(error), draft)
            raise
        rule = await self._policy.rule_for(draft)
        auto = rule.implicit and self._policy.auto_approves(draft, await self._policy.is_approver(draft.requester))
        now = self._clock()
        async with self._store.write() as tx:
            if dedup_key is not None and (replay := await self._replayed_request(tx, dedup_key)) is not None:
                return replay
            # counted under the write lock, so parallel submissions cannot all slip under the limit
            if (limited := await self._over_rate(tx, draft.requester, now)) is not None:
                await tx.append_audit(AuditEntry(event=AuditEvent.REQUEST_REFUSED.value, actor=draft.requester,
                                                 outcome=str(limited), **draft_fields(draft)), now)
            else:
                request = await self._record(tx, draft, now, auto=auto, dedup_key=dedup_key, rule=rule)
        if limited is not None:
            raise limited
        return request

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
        self, action: Decision, request_id: int, actor: str, *, reason: str = "", dedup_key: str | None = None
    ) -> Decided:
        """Approve, deny or cancel: the one place a decision is de-duplicated (its click's key) and its
        announcement claimed, in the transaction that makes the change."""
        return await self._decide(request_id, actor, action, dedup_key, reason.strip() or None)

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
                        tell = await tx.claim(key, now, now + timedelta(seconds=EFFECT_TTL_SECONDS))
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
        return expired

    # ---- reads ------------------------------------------------------------------------------

    async def get(self, request_id: int) -> Request:
        async with self._store.read() as tx:
            return await self._load(tx, request_id)

    async def recent_for(self, user: str, limit: int = 10) -> list[Request]:
        async with self._store.read() as tx:
            return await tx.recent_for(user, limit)

    async def pending(self, limit: int = 20) -> list[Request]:
        async with self._store.read() as tx:
            return await tx.in_states((RequestState.PENDING,), limit)

    async def in_states(self, *states: RequestState) -> list[Request]:
        async with self._store.read() as tx:
            return await tx.in_states(states)

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

    async def set_cards(
        self,
        request_id: int,
        *,
        request_card: MessageRef | None = None,
        approval_card: MessageRef | None = None,
        status_message: MessageRef | None = None,
    ) -> Request:
        given = {"request_card": request_card, "approval_card": approval_card, "status_message": status_message}
        async with self._store.write() as tx:
            request = await self._load(tx, request_id)
            changed = request.model_copy(update={k: v for k, v in given.items() if v is not None})
            await self._cas(tx, changed, request.state)
        return changed

    # ---- start and follow -------------------------------------------------------------------

    async def begin_start(self, request_id: int) -> Request:
        now = self._clock()
        async with self._store.write() as tx:
            request = await self._load(tx, request_id)
            if request.state is RequestState.STARTING:
                return request
            if request.state is not RequestState.APPROVED:
                raise illegal(request, RequestState.STARTING)
            changed = request.model_copy(
                update={"state": RequestState.STARTING, "session_group_id": str(uuid.uuid4()), "updated_at": now}
            )
            await self._cas(tx, changed, RequestState.APPROVED)
        return changed

    async def record_started(self, request_id: int, sessions: list[SessionInfo]) -> Request:
        now = self._clock()
        async with self._store.write() as tx:
            request = await self._load(tx, request_id)
            if request.state is RequestState.RUNNING:
                return request  # already recorded (a replay after a restart)
            if request.state is not RequestState.STARTING:
                raise illegal(request, RequestState.RUNNING)
            sessions = [s.model_copy(update={"attempt": request.attempt}) for s in sessions]
            await tx.add_sessions(request_id, sessions)
            changed = request.model_copy(
                update={"state": RequestState.RUNNING, "sessions": list(sessions), "updated_at": now}
            )
            await self._cas(tx, changed, RequestState.STARTING)
            ids = [s.session_id for s in sessions]
            await tx.append_audit(entry(AuditEvent.SESSIONS_STARTED, changed, SYSTEM_ACTOR, immybot_session_ids=ids,
                                        outcome=started_outcome(changed)), now)  # fmt: skip
            if changed.attempt > 1:  # who asked for the retry, with the sessions it started
                await tx.append_audit(retried_entry(changed, ids), now)
        return changed

    async def update_session(
        self, request_id: int, session_id: int, status: str, *, at: datetime | None = None
    ) -> Request:
        now = at or self._clock()
        async with self._store.write() as tx:
            request = await self._load(tx, request_id)
            index = next((i for i, s in enumerate(request.sessions) if s.session_id == session_id), None)
            if index is None:
                raise DomainError(f"Request #{request_id} has no session {session_id}.")
            session = request.sessions[index]
            if session.terminal or session.status == status:
                return request  # the first terminal status is final; session.finished is audited once
            terminal = status in TERMINAL_SESSION_STATUSES or status == TIMED_OUT
            finished_at = now if terminal else None
            await tx.set_session_status(request_id, session_id, status, finished_at)
            if terminal:
                await tx.append_audit(
                    entry(
                        AuditEvent.SESSION_FINISHED,
                        request,
                        SYSTEM_ACTOR,
                        immybot_session_ids=[session_id],
                        outcome=status,
                    ),
                    now,
                )
        sessions = list(request.sessions)
        sessions[index] = session.model_copy(update={"status": status, "finished_at": finished_at})
        return request.model_copy(update={"sessions": sessions})

    async def finish(self, request_id: int) -> Request:
        now = self._clock()
        async with self._store.write() as tx:
            request = await self._load(tx, request_id)
            if request.state is RequestState.FINISHED:
                return request
            if request.state is not RequestState.RUNNING:
                raise illegal(request, RequestState.FINISHED)
            waiting = [s.session_id for s in request.sessions if not s.terminal]
            if waiting:
                raise SessionsNotDone(f"Request #{request_id} still has sessions running: {waiting}.")
            outcome = request_outcome(request.sessions, cancel_requested=request.cancel_requested)
            changed = request.model_copy(update={"state": RequestState.FINISHED, "outcome": outcome, "updated_at": now})
            await self._cas(tx, changed, RequestState.RUNNING)
            ids = [s.session_id for s in request.sessions]
            await tx.append_audit(
                entry(
                    AuditEvent.REQUEST_FINISHED, changed, SYSTEM_ACTOR, immybot_session_ids=ids, outcome=outcome.value
                ),
                now,
            )
        return changed

    async def claim_report(self, request_id: int) -> bool:
        async with self._store.write() as tx:
            request = await self._load(tx, request_id)
            if request.reported:
                return False
            await self._cas(tx, request.model_copy(update={"reported": True}), request.state)
        return True

    async def record_stray_sessions(self, request_id: int, sessions: list[SessionInfo]) -> None:
        """Audit sessions ImmyBot started for a request cancelled meanwhile (the starter cancels them)."""
        now = self._clock()
        async with self._store.write() as tx:
            request = await self._load(tx, request_id)
            ids = [s.session_id for s in sessions]
            await tx.append_audit(entry(AuditEvent.SESSIONS_STARTED, request, SYSTEM_ACTOR,
                                        immybot_session_ids=ids, outcome="cancelled"), now)  # fmt: skip

    async def claimed(self, key: str) -> bool:
        async with self._store.read() as tx:
            return await tx.dedup_get(key, self._clock()) is not None

    async def claim(self, key: str, ttl_seconds: float = 3600) -> bool:
        now = self._clock()
        async with self._store.write() as tx:
            return await tx.claim(key, now, now + timedelta(seconds=ttl_seconds))

    # ---- helpers ----------------------------------------------------------------------------

    async def _peek(self, request_id: int) -> Request | None:
        async with self._store.read() as tx:
            return await tx.get_request(request_id)

    @staticmethod
    async def _load(tx: StoreTx, request_id: int) -> Request:
        request = await tx.get_request(request_id)
        if request is None:
            raise RequestNotFound(request_id)
        return request

    @staticmethod
    async def _cas(tx: StoreTx, request: Request, expected: RequestState) -> None:
        if not await tx.update_request(request, expected):  # pragma: no cover - we hold the write lock
            current = await tx.get_request(request.id)
            raise illegal(current or request, request.state)
