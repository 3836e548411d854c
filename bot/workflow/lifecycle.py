"""What the starter and the follower need from the request lifecycle (`RequestService` implements it).

A structural Protocol, so the follower depends on the moves it makes and nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.workflow.model import MessageRef, Request, RequestState, SessionInfo


class Lifecycle(Protocol):
    async def get(self, request_id: int) -> Request: ...

    async def in_states(self, *states: RequestState) -> list[Request]: ...

    async def set_cards(self, request_id: int, *, status_message: MessageRef | None = None) -> Request: ...

    async def begin_start(self, request_id: int) -> Request:
        """approved → starting with a fresh session group id (a request already starting comes back as is)."""
        ...

    async def record_started(self, request_id: int, sessions: list[SessionInfo]) -> Request:
        """starting → running with every session id (audits `sessions.started`)."""
        ...

    async def update_session(
        self, request_id: int, session_id: int, status: str, *, at: datetime | None = None
    ) -> Request:
        """Persist a session's status (audits `session.finished` once when it is terminal)."""
        ...

    async def finish(self, request_id: int) -> Request:
        """running → finished with its outcome (audits `request.finished`)."""
        ...

    async def claim_report(self, request_id: int) -> bool:
        """True exactly once per request, ever: the caller posts the final summary."""
        ...

    async def record_stray_sessions(self, request_id: int, sessions: list[SessionInfo]) -> None:
        """Audit sessions ImmyBot started although the request was cancelled meanwhile."""
        ...

    async def claimed(self, key: str) -> bool:
        """Is `key` taken (and not expired)?"""
        ...

    async def claim(self, key: str, ttl_seconds: float = 3600) -> bool:
        """True for the first caller of `key` until it expires (a durable once-only flag)."""
        ...
