"""The follower's part for previews (SPEC §8): a preview's sessions ride the same heap, workers and pacing
as a real run's; only what happens at their end differs (verdicts on the card, never a summary)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.workflow.model import Request, RequestState, SessionInfo

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from typing import Any

    from bot.workflow.preview_runner import PreviewRunner


@dataclass
class Followed:
    request: Request
    deadline: datetime
    pending: set[int]
    cancel_sent: set[int] = field(default_factory=set)
    finishing: bool = False
    preview: bool = False  # following the request's detection-only preview (SPEC §8), not its run
    stop: bool = False  # a preview no longer wanted (decided): its sessions are cancelled

    @property
    def sessions(self) -> list[SessionInfo]:
        return self.request.preview_sessions if self.preview else self.request.sessions

    @property
    def cancelling(self) -> bool:
        return self.stop if self.preview else self.request.cancel_requested


class PreviewFollowing:
    """Mixed into `Follower`: start, stop, follow and end previews with the follower's own machinery."""

    previews: PreviewRunner | None
    preview_wait: timedelta
    _previewed: dict[int, Followed]
    _clock: Callable[[], datetime]

    def _schedule(self, key: tuple[int, int], delay: float) -> None: ...

    def _track(self, followed: Followed, *, spread: bool) -> None: ...

    def _complete(self, followed: Followed) -> None: ...

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None: ...

    def preview_in_background(self, request_id: int) -> None:
        """Start the request's detection-only preview (SPEC §8) when it gets one; returns at once."""
        if self.previews is not None:
            self.previews.start_in_background(request_id)

    def stop_preview(self, request_id: int) -> None:
        """The request was decided: cancel its preview's unfinished sessions (they finish as partial)."""
        followed = self._previewed.get(request_id)
        if followed is None or followed.stop:
            return
        followed.stop = True
        for session_id in followed.pending:
            self._schedule((request_id, session_id), 0.0)

    def _follow_preview(self, request: Request, *, only: set[int] | None = None) -> None:
        if request.id in self._previewed:
            return
        started = request.preview.started_at if request.preview and request.preview.started_at else self._clock()
        pending = {s.session_id for s in request.preview_sessions if not s.terminal}
        pending &= pending if only is None else only  # shared: only the sessions claimed under a lease here
        followed = Followed(request, started + self.preview_wait, pending, preview=True,
                             stop=request.state is not RequestState.PENDING)  # fmt: skip
        self._previewed[request.id] = followed
        self._track(followed, spread=True)
        if not pending:
            self._complete(followed)

    async def _finish_preview(self, followed: Followed) -> None:
        try:
            if self.previews is not None:
                await self.previews.finish(followed.request, stopped=followed.stop)
        finally:
            self._previewed.pop(followed.request.id, None)


async def _nothing(request: Request) -> None:
    return None
