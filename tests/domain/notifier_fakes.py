"""A `RecordingNotifier` and `RecordingRuns`: the use-cases' outward ports, recorded.

Written from what `bot.workflow.ports.Notifier` and `Runs` promise (one call per step that really
happened), not from the Slack adapter: a test reads back which steps people would have been told of."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bot.workflow.lifecycle import Lifecycle
from bot.workflow.model import Request, SessionResult
from bot.workflow.ports import SessionsPort
from bot.workflow.reminder_schedule import ReminderStep


@dataclass
class RecordingNotifier:
    """Every step told, in order, as `(step, request id, detail)`; `failing` steps raise after recording."""

    told: list[tuple[str, int, Any]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    _heard: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, step: str) -> None:
        """Until `step` has been told (the caller bounds the wait)."""
        while step not in self.steps():
            self._heard.clear()
            await self._heard.wait()

    def steps(self, request_id: int | None = None) -> list[str]:
        return [step for step, rid, _ in self.told if request_id is None or rid == request_id]

    def _record(self, step: str, request: Request, detail: Any = None) -> None:
        self.told.append((step, request.id, detail))
        self._heard.set()
        if step in self.failing:
            raise RuntimeError(f"slack hiccup while telling {step}")

    async def created(self, request: Request) -> None:
        self._record("created", request, request.state)

    async def approval_added(self, request: Request, approver: str) -> None:
        self._record("approval_added", request, approver)

    async def decided(self, request: Request, actor: str) -> None:
        self._record("decided", request, (request.state, actor))

    async def cancelled(self, request: Request, actor: str) -> None:
        self._record("cancelled", request, (request.state, actor))

    async def expired(self, request: Request) -> None:
        self._record("expired", request)

    async def reminded(self, request: Request, steps: tuple[ReminderStep, ...]) -> None:
        self._record("reminded", request, tuple(s.kind for s in steps))

    async def preview_updated(self, request: Request) -> None:
        self._record("preview_updated", request)

    async def progress(self, request: Request, *, immybot_unavailable: bool = False) -> None:
        self._record("progress", request, immybot_unavailable)

    async def start_cancelled(self, request: Request, cancelled: list[int], not_cancelled: list[int]) -> None:
        self._record("start_cancelled", request, (cancelled, not_cancelled))

    async def final(self, request: Request, results: list[SessionResult]) -> None:
        self._record("final", request, len(results))

    async def retried(self, request: Request, computers: int, actor: str) -> None:
        self._record("retried", request, (computers, actor))

    async def resume_summaries(self, lifecycle: Lifecycle, sessions: SessionsPort) -> None:
        return None

    async def recover_summary(self, request: Request, sessions: SessionsPort) -> None:
        self._record("recover_summary", request)


@dataclass
class RecordingRuns:
    """What the use-cases set going, as `(what, request id)`."""

    calls: list[tuple[str, int]] = field(default_factory=list)

    def of(self, request_id: int) -> list[str]:
        return [what for what, rid in self.calls if rid == request_id]

    def start_in_background(self, request_id: int) -> None:
        self.calls.append(("start", request_id))

    def preview_in_background(self, request_id: int) -> None:
        self.calls.append(("preview", request_id))

    def stop_preview(self, request_id: int) -> None:
        self.calls.append(("stop_preview", request_id))

    async def cancel(self, request_id: int) -> None:
        self.calls.append(("cancel", request_id))
