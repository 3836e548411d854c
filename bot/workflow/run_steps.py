"""The lifecycle's moves, each one transaction: what the starter, the follower and the Slack cards need
(the `Lifecycle` protocol). `RequestService` adds the steps people take (submit, decide, expire).

Each move is idempotent where a restart can replay it: a request already in the target state comes back
as it is.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from bot.workflow.errors import DomainError, RequestNotFound, SessionsNotDone
from bot.workflow.model import (
    SYSTEM_ACTOR,
    TERMINAL_SESSION_STATUSES,
    TIMED_OUT,
    AuditEvent,
    MessageRef,
    Request,
    RequestState,
    SessionInfo,
)
from bot.workflow.outcome import request_outcome
from bot.workflow.ports import Clock, RequestStore, StoreTx
from bot.workflow.records import entry, illegal
from bot.workflow.retry_run import retried_entry
from bot.workflow.scheduling import started_outcome


def utc_now() -> datetime:
    return datetime.now(UTC)


class RunSteps:
    def __init__(self, store: RequestStore, *, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def get(self, request_id: int) -> Request:
        async with self._store.read() as tx:
            return await self._load(tx, request_id)

    async def in_states(self, *states: RequestState) -> list[Request]:
        async with self._store.read() as tx:
            return await tx.in_states(states)

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
