"""In-memory fakes of the domain's outward ports, for fast tests of the starter, follower and lifecycle.

They implement `bot.workflow.ports` (SessionsPort, Reporter) from what the ports promise, not from any
adapter: a test scripts what ImmyBot answers and reads back what people would have been told."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.workflow.errors import BackendRejected, BackendUnavailable
from bot.workflow.lifecycle import Lifecycle
from bot.workflow.model import Request, SessionInfo, SessionResult, Software
from bot.workflow.ports import SessionsPort


@dataclass
class FakeSessions:
    """ImmyBot's sessions: each computer's statuses are played in order, the last one repeats."""

    scripts: dict[int, list[str]] = field(default_factory=dict)
    start_failures: list[Exception] = field(default_factory=list)  # raised by the next start() calls
    refuse_cancel: set[int] = field(default_factory=set)
    started: dict[int, SessionInfo] = field(default_factory=dict)  # session id → session
    groups: dict[int, str] = field(default_factory=dict)  # session id → session group id
    start_calls: int = 0
    cancelled: list[int] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _played: dict[int, int] = field(default_factory=dict)

    async def start(self, request: Request, computer_ids: Sequence[int], group_id: str) -> list[SessionInfo]:
        self.start_calls += 1
        if self.start_failures:
            raise self.start_failures.pop(0)
        out = []
        for computer_id in computer_ids:
            session = SessionInfo(session_id=next(self._ids), computer_id=computer_id)
            self.started[session.session_id] = session
            self.groups[session.session_id] = group_id
            out.append(session)
        return out

    async def find(self, computer_id: int, group_id: str) -> list[SessionInfo]:
        return [s for i, s in self.started.items() if s.computer_id == computer_id and self.groups[i] == group_id]

    async def status(self, session_id: int) -> str:
        session = self.started[session_id]
        if session_id in self.cancelled:
            return "Cancelled"
        script = self.scripts.get(session.computer_id or -1, ["Passed"])
        n = self._played.get(session_id, 0)
        self._played[session_id] = n + 1
        return script[min(n, len(script) - 1)]

    async def result(self, session: SessionInfo, software: Software, computer_name: str) -> SessionResult:
        return SessionResult(session_id=session.session_id, computer_id=session.computer_id,
                             computer_name=computer_name, status=session.status)

    async def cancel(self, session_id: int) -> None:
        if session_id in self.refuse_cancel:
            raise BackendRejected(f"session {session_id} cannot be cancelled")
        self.cancelled.append(session_id)


@dataclass
class RecordingNotifier:
    """The Reporter port: remembers every step it was told, in order."""

    steps: list[tuple[str, int]] = field(default_factory=list)
    finals: dict[int, list[SessionResult]] = field(default_factory=dict)
    unavailable: list[int] = field(default_factory=list)
    stray: list[tuple[int, list[int], list[int]]] = field(default_factory=list)
    final_seen: asyncio.Event = field(default_factory=asyncio.Event)

    async def progress(self, request: Request, *, immybot_unavailable: bool = False) -> None:
        self.steps.append(("progress", request.id))
        if immybot_unavailable:
            self.unavailable.append(request.id)

    async def start_cancelled(self, request: Request, cancelled: list[int], not_cancelled: list[int]) -> None:
        self.steps.append(("start_cancelled", request.id))
        self.stray.append((request.id, cancelled, not_cancelled))

    async def final(self, request: Request, results: list[SessionResult]) -> None:
        self.steps.append(("final", request.id))
        self.finals[request.id] = results
        self.final_seen.set()

    async def resume_summaries(self, lifecycle: Lifecycle, sessions: SessionsPort) -> None:
        self.steps.append(("resume_summaries", 0))


UNAVAILABLE = BackendUnavailable("ImmyBot is down (a test)")
