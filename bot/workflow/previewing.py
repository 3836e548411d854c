"""What a preview (SPEC §8) writes down: its own group id, its sessions (kind 'preview'), its verdicts.

A preview never moves the request's state, never writes `request.finished` nor a summary: it only fills
`Request.preview` and `Request.preview_sessions`, and audits `preview.started` / `preview.finished`.
Every move is one transaction under the store's write lock, so a decision made meanwhile is never lost
(each write reads the request afresh and keeps its state).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from bot.workflow.errors import RequestNotFound
from bot.workflow.model import (
    SESSION_PREVIEW,
    SYSTEM_ACTOR,
    TERMINAL_SESSION_STATUSES,
    TIMED_OUT,
    AuditEvent,
    Request,
    RequestState,
    SessionInfo,
)
from bot.workflow.ports import Clock, RequestStore, StoreTx
from bot.workflow.preview import ComputerPreview, Preview, PreviewState, summary_line
from bot.workflow.records import entry
from bot.workflow.service import utc_now


def wants_preview(request: Request) -> bool:
    """Only a pending request that is not itself a preview gets one, and only once."""
    return request.state is RequestState.PENDING and not request.options.preview and request.preview is None


class PreviewLedger:
    def __init__(self, store: RequestStore, *, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def get(self, request_id: int) -> Request:
        async with self._store.read() as tx:
            return await _load(tx, request_id)

    async def running(self) -> list[Request]:
        """Open requests whose preview has not ended (a restart carries on with them)."""
        async with self._store.read() as tx:
            requests = await tx.in_states(
                (RequestState.PENDING, RequestState.APPROVED, RequestState.STARTING, RequestState.RUNNING)
            )
        return [r for r in requests if r.preview is not None and r.preview.state is PreviewState.RUNNING]

    async def begin(self, request_id: int) -> Request | None:
        """Give the request its preview (running, its own session group id); None when it gets none."""
        now = self._clock()
        async with self._store.write() as tx:
            request = await _load(tx, request_id)
            if not wants_preview(request):
                return None
            preview = Preview(state=PreviewState.RUNNING, group_id=str(uuid.uuid4()), started_at=now)
            changed = request.model_copy(update={"preview": preview})
            await _cas(tx, changed, request.state)
        return changed

    async def record_started(self, request_id: int, sessions: Sequence[SessionInfo]) -> Request:
        """Store the preview's sessions and audit `preview.started` (once: a replay records nothing)."""
        now = self._clock()
        async with self._store.write() as tx:
            request = await _load(tx, request_id)
            known = {s.session_id for s in request.preview_sessions}
            new = [s for s in sessions if s.session_id not in known]
            if not new and request.preview_sessions:
                return request
            await tx.add_sessions(request_id, new, SESSION_PREVIEW)
            await tx.append_audit(entry(AuditEvent.PREVIEW_STARTED, request, SYSTEM_ACTOR,
                                        immybot_session_ids=[s.session_id for s in new]), now)  # fmt: skip
        return request.model_copy(update={"preview_sessions": [*request.preview_sessions, *new]})

    async def update_session(self, request_id: int, session_id: int, status: str) -> Request:
        """A preview session's status (the first terminal one is final); no audit row per preview session."""
        now = self._clock()
        async with self._store.write() as tx:
            request = await _load(tx, request_id)
            sessions = list(request.preview_sessions)
            index = next((i for i, s in enumerate(sessions) if s.session_id == session_id), None)
            if index is None or sessions[index].terminal or sessions[index].status == status:
                return request
            terminal = status in TERMINAL_SESSION_STATUSES or status == TIMED_OUT
            finished_at = now if terminal else None
            await tx.set_session_status(request_id, session_id, status, finished_at)
        sessions[index] = sessions[index].model_copy(update={"status": status, "finished_at": finished_at})
        return request.model_copy(update={"preview_sessions": sessions})

    async def finish(
        self, request_id: int, state: PreviewState, computers: Sequence[ComputerPreview] = ()
    ) -> Request | None:
        """The preview ends (finished, partial or unavailable): verdicts stored, `preview.finished` audited.
        None when it had already ended (a replay tells nobody)."""
        now = self._clock()
        async with self._store.write() as tx:
            request = await _load(tx, request_id)
            if request.preview is None or request.preview.state is not PreviewState.RUNNING:
                return None
            preview = request.preview.model_copy(update={"state": state, "computers": tuple(computers)})
            changed = request.model_copy(update={"preview": preview})
            await _cas(tx, changed, request.state)
            outcome = state.value if state is PreviewState.UNAVAILABLE else f"{state.value}: {summary_line(computers)}"
            ids = [s.session_id for s in request.preview_sessions]
            await tx.append_audit(entry(AuditEvent.PREVIEW_FINISHED, changed, SYSTEM_ACTOR,
                                        immybot_session_ids=ids, outcome=outcome), now)  # fmt: skip
        return changed


async def _load(tx: StoreTx, request_id: int) -> Request:
    request = await tx.get_request(request_id)
    if request is None:
        raise RequestNotFound(request_id)
    return request


async def _cas(tx: StoreTx, request: Request, expected: RequestState) -> None:
    if not await tx.update_request(request, expected):  # pragma: no cover - we hold the write lock
        raise RequestNotFound(request.id)
