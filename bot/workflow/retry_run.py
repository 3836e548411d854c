"""What may follow a summary (SPEC §7): "Retry failed" and who may see a session's log. Pure domain.

A retry is one compare-and-set inside the write transaction: the request goes from `finished` (at the
attempt the summary shows) back to `starting` with attempt + 1, the computers that did not pass, a fresh
`sessionGroupId`, and its once-only key claimed in the same transaction. A double click, a Slack retry or
a click on an older summary finds the attempt moved on and starts nothing; a crash after the commit leaves
the request `starting`, which the starter resumes at start-up like any other (looking up by group id first).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.workflow.errors import RequestNotFound
from bot.workflow.model import (
    EFFECT_TTL_SECONDS,
    SYSTEM_ACTOR,
    AuditEntry,
    AuditEvent,
    Request,
    RequestState,
)
from bot.workflow.policy import Policy
from bot.workflow.ports import Clock, NoRuns, Notifier, RequestStore, Runs, Untold
from bot.workflow.records import entry
from bot.workflow.retry import PASSED, RetryRefusal

RETRY_CLAIM = "retry:{id}:{attempt}"  # once per summary: the summary of attempt N retries once


@dataclass(frozen=True)
class RetryAnswer:
    """The request now; `started` with the computers it runs again, or why not (`refusal`)."""

    request: Request
    refusal: RetryRefusal | None = None
    computers: tuple[int, ...] = ()

    @property
    def started(self) -> bool:
        return self.refusal is None


def retried_entry(request: Request, session_ids: list[int]) -> AuditEntry:
    """The `request.retried` row, written when the retry's sessions are recorded: who pressed the button,
    the new session ids, and as `targets` only the computers this attempt runs again."""
    row = entry(AuditEvent.REQUEST_RETRIED, request, request.retried_by or SYSTEM_ACTOR,
                immybot_session_ids=session_ids, outcome=f"attempt {request.attempt}")  # fmt: skip
    again = set(request.run_computer_ids)
    return replace(row, targets=[{"id": c.id, "name": c.name} for c in request.targets.computers if c.id in again])


def failed_computers(request: Request) -> tuple[int, ...]:
    """The computers whose session of the current attempt did not pass, once each, in session order
    (a computer with two sessions, one passed, is not retried)."""
    passed = {s.computer_id for s in request.sessions if s.status == PASSED}
    out: dict[int, None] = {}
    for session in request.sessions:
        if session.computer_id is not None and session.computer_id not in passed:
            out.setdefault(session.computer_id)
    return tuple(out)


class FollowUps:
    """Retry failed and Show log's permission check, audited like every other decision."""

    def __init__(self, store: RequestStore, policy: Policy, *, retry_window: timedelta, clock: Clock,
                 notifier: Notifier | None = None, runs: Runs | None = None) -> None:
        self._store = store
        self._policy = policy
        self._window = retry_window
        self._clock = clock
        self._notifier: Notifier = notifier or Untold()
        self._runs: Runs = runs or NoRuns()

    async def retry_failed(self, request_id: int, summary_attempt: int, actor: str) -> RetryAnswer:
        """Run the computers of `summary_attempt` that did not pass again; the one call that moved the request
        on starts the run, then tells it (a double click, a Slack retry, an older summary: nothing)."""
        answer = await self._retry(request_id, summary_attempt, actor)
        if answer.started:
            self._runs.start_in_background(request_id)  # first: telling must not delay (or stop) the run
            await self._notifier.retried(answer.request, len(answer.computers), actor)
        return answer

    async def _may(self, request: Request, actor: str) -> bool:
        # the requester, whoever decided, or an approver of this request (its policy rule's, SPEC §6)
        return actor in (request.requester, request.decided_by) or await self._policy.may_decide(actor, request)

    async def _retry(self, request_id: int, summary_attempt: int, actor: str) -> RetryAnswer:
        async with self._store.read() as tx:
            found = await tx.get_request(request_id)
        if found is None:
            raise RequestNotFound(request_id)
        allowed = await self._may(found, actor)  # group lookups stay outside the write lock
        now = self._clock()
        async with self._store.write() as tx:
            request = await tx.get_request(request_id)
            if request is None:
                raise RequestNotFound(request_id)
            refusal = self._refusal(request, summary_attempt, allowed, now)
            if refusal in (RetryRefusal.NOT_ALLOWED, RetryRefusal.WINDOW_PASSED):
                await tx.append_audit(entry(AuditEvent.DECISION_REFUSED, request, actor,
                                            outcome=f"retry: {refusal.value}"), now)  # fmt: skip
            if refusal is not None:
                return RetryAnswer(request, refusal)
            computers = failed_computers(request)
            if not computers:
                return RetryAnswer(request, RetryRefusal.NOTHING_TO_RETRY)
            key = RETRY_CLAIM.format(id=request.id, attempt=request.attempt)
            if not await tx.claim(key, now, now + timedelta(seconds=EFFECT_TTL_SECONDS)):
                return RetryAnswer(request, RetryRefusal.ALREADY_RETRIED)
            retried = request.model_copy(update={
                "state": RequestState.STARTING,
                "attempt": request.attempt + 1,
                "attempt_computer_ids": computers,
                "session_group_id": str(uuid.uuid4()),
                "retried_by": actor,
                "earlier_session_ids": [*request.earlier_session_ids, *(s.session_id for s in request.sessions)],
                "sessions": [],
                "outcome": None,
                "reported": False,
                "cancel_requested": False,
                "status_message": None,  # the retry gets its own status message in the thread
                "updated_at": now,
            })  # fmt: skip
            if not await tx.update_request(retried, RequestState.FINISHED):  # pragma: no cover - write lock held
                return RetryAnswer(request, RetryRefusal.ALREADY_RETRIED)
        return RetryAnswer(retried, None, computers)

    def _refusal(self, request: Request, summary_attempt: int, allowed: bool, now: datetime) -> RetryRefusal | None:
        if not allowed:
            return RetryRefusal.NOT_ALLOWED
        if request.attempt != summary_attempt or request.state is not RequestState.FINISHED:
            return RetryRefusal.ALREADY_RETRIED
        approved_at = request.decided_at or request.created_at
        if now - approved_at >= self._window:
            return RetryRefusal.WINDOW_PASSED
        return None

    async def may_see_log(self, request_id: int, session_id: int, actor: str) -> tuple[Request, bool]:
        """(the request, may `actor` see this session's log?): the requester or an approver may; anyone else
        is refused, audited as `decision.refused`. A session not of this request raises RequestNotFound."""
        async with self._store.read() as tx:
            request = await tx.get_request(request_id)
        if request is None:
            raise RequestNotFound(request_id)
        if session_id not in {s.session_id for s in request.sessions} | set(request.earlier_session_ids):
            raise RequestNotFound(request_id)
        if await self._may(request, actor):
            return request, True
        now = self._clock()
        async with self._store.write() as tx:
            await tx.append_audit(entry(AuditEvent.DECISION_REFUSED, request, actor,
                                        outcome=f"show log: not the requester or an approver (session {session_id})"),
                                  now)  # fmt: skip
        return request, False
