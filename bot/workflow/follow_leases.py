"""The follower's part for replicas (SPEC §9): sessions claimed or lost under leases come and go here;
the lease keeper (`lease_keeper.py`) calls these, the follower's own loop does the polling."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.workflow.model import Request, RequestState

if TYPE_CHECKING:
    from bot.workflow.follow_previews import Followed


class LeasedFollowing:
    """Mixed into `Follower`: what a lease claimed or lost means for the sessions it follows."""

    _followed: dict[int, Followed]
    _previewed: dict[int, Followed]
    _generations: dict[tuple[int, int], int]

    def _follow(self, request: Request, *, spread: bool = False, only: set[int] | None = None) -> None: ...
    def _schedule(self, key: tuple[int, int], delay: float) -> None: ...
    # the follower's own (annotations only: nothing here shadows them in the MRO)
    _follow_preview: Callable[..., None]
    stop_preview: Callable[[int], None]
    _complete: Callable[[Followed], None]

    def adopt(self, request: Request, session_ids: set[int]) -> None:
        """Follow these sessions of `request`, claimed under a lease (shared mode); take in a cancel asked for
        on another replica (`request` is as stored)."""
        if (followed := self._followed.get(request.id)) is None:
            return self._follow(request, spread=True, only=session_ids)
        cancel = request.cancel_requested and not followed.request.cancel_requested
        if cancel:  # every pending session is visited at once: the cancel goes out
            followed.request = followed.request.model_copy(update={"cancel_requested": True})
        for session_id in (session_ids | followed.pending) if cancel else session_ids - followed.pending:
            if any(s.session_id == session_id and not s.terminal for s in followed.request.sessions):
                followed.pending.add(session_id)
                self._schedule((request.id, session_id), 0.0)

    def adopt_preview(self, request: Request, session_ids: set[int]) -> None:
        """Follow these preview sessions of `request` (claimed under a lease, perhaps a dead replica's); a
        request decided on another replica meanwhile has its preview stopped here, the holder."""
        if (followed := self._previewed.get(request.id)) is None:
            return self._follow_preview(request, only=session_ids)
        for session_id in session_ids - followed.pending:
            if any(s.session_id == session_id and not s.terminal for s in followed.request.preview_sessions):
                followed.pending.add(session_id)
                self._schedule((request.id, session_id), 0.0)
        if request.state is not RequestState.PENDING:
            self.stop_preview(request.id)

    def drop(self, request_id: int, session_id: int, stored: Request | None = None) -> bool:
        """A session whose lease is gone: taken by another replica (it now reports it: stop following), or
        ended elsewhere (a preview session the approving replica cancelled before the real run: it counts
        as ended here, so the preview still finishes). True when it had ended."""
        ended = False
        for following in (self._followed, self._previewed):
            if (followed := following.get(request_id)) is None or followed.finishing:
                continue
            if session_id not in followed.pending:
                continue
            followed.pending.discard(session_id)
            self._generations.pop((request_id, session_id), None)
            sessions = (stored.preview_sessions if followed.preview else stored.sessions) if stored else []
            ended = any(s.session_id == session_id and s.terminal for s in sessions)
            if ended and stored is not None:
                followed.request = stored
                if not followed.pending:
                    self._complete(followed)
            elif not followed.pending:  # the replica that took the rest over finishes and reports it
                del following[request_id]
        return ended

    def followed_keys(self) -> set[tuple[int, int]]:
        return {(rid, sid) for rid, f in self._followed.items() for sid in f.pending}

    def previewed_keys(self) -> set[tuple[int, int]]:
        return {(rid, sid) for rid, f in self._previewed.items() for sid in f.pending}
