"""One background follower for every ImmyBot session in flight.

A heap of due times (not a task per session) decides which session to poll next; a few workers
(at most `concurrency` ImmyBot calls in flight, starts and summaries included) do the polling.
Each session's first poll falls anywhere in its first interval (so sessions started together are
polled at an even rate, not in bursts), then every `poll_seconds` ±10%, backing off ×1.5 up to
`poll_cap` while it waits (Created, Pending, PendingConnectivity...). Visits start at least a
small gap apart (up to 4× the even rate, to catch up) and each yields to the event loop first.
Faults (429, 5xx, HTML) are retried later and never stop the loop. Only status changes are
written (`update_session`), so a restarted bot resumes from the database (`start()`).
With shared `leases` (PostgreSQL replicas) it follows only what it claimed (run and preview sessions
alike: see `lease_keeper`), and a dead replica's starts and summaries are resumed by the recovery tick
(`follow_recovery`), not at start-up. Finishing and the summary: `follow_reports`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.logs import request_context
from bot.workflow.errors import BackendRejected, BackendUnavailable
from bot.workflow.follow_leases import LeasedFollowing
from bot.workflow.follow_previews import Followed, PreviewFollowing, _nothing
from bot.workflow.follow_recovery import recovery_loop
from bot.workflow.follow_reports import ReportingFollowing
from bot.workflow.lease_keeper import keep_leases
from bot.workflow.leases import LocalLeases, LocalSingletons, SessionLeases, Singletons
from bot.workflow.lifecycle import Lifecycle
from bot.workflow.model import (
    TERMINAL_SESSION_STATUSES,
    TIMED_OUT,
    WAITING_SESSION_STATUSES,
    Request,
    RequestState,
)
from bot.workflow.ports import Reporter, SessionsPort
from bot.workflow.preview_runner import PREVIEW_WAIT, PreviewRunner
from bot.workflow.previewing import PreviewLedger
from bot.workflow.scheduling import give_up_at, waits_until
from bot.workflow.starter import Starter

log = logging.getLogger(__name__)

BACKOFF = 1.5
JITTER = 0.1
PACE_HEADROOM = 4.0  # visits may start at up to 4× the even rate (in flight / poll_seconds)
MAX_GAP = 0.05  # ... and never wait more than this for the previous visit's slot
CANCELLED = "Cancelled"
_Key = tuple[int, int]  # (request id, session id)
_Due = tuple[float, int, _Key, int]  # (due at, sequence, key, generation)


class Follower(ReportingFollowing, PreviewFollowing, LeasedFollowing):
    def __init__(
        self,
        service: Lifecycle,
        sessions: SessionsPort,
        reporter: Reporter,
        *,
        poll_seconds: float,
        max_wait: timedelta,
        poll_cap: float | None = None,
        concurrency: int = 4,
        start_backoff_base: float = 3.0,
        start_backoff_cap: float = 60.0,
        on_session_end: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        leases: SessionLeases | None = None,
        preview_ledger: PreviewLedger | None = None,
        show_preview: Callable[[Request], Awaitable[None]] | None = None,
        preview_wait: timedelta = PREVIEW_WAIT,
        singletons: Singletons | None = None,
    ) -> None:
        self._service = service
        self.leases: SessionLeases = leases or LocalLeases()
        self._singletons: Singletons = singletons or LocalSingletons()
        self.claim_now = asyncio.Event()  # set when this replica started sessions: claim them at once
        self._sessions = sessions
        self._reporter = reporter
        self.poll_seconds = poll_seconds
        self.poll_cap = poll_cap if poll_cap is not None else max(poll_seconds * 4, poll_seconds)
        self.max_wait = max_wait
        self._concurrency = concurrency
        self._limit = asyncio.Semaphore(concurrency)
        self._on_session_end = on_session_end
        self._clock = clock
        self.previews: PreviewRunner | None = None
        if preview_ledger is not None:
            self.previews = PreviewRunner(preview_ledger, sessions, limit=self._limit, follow=self._on_previewing,
                                          stop=self.stop_preview, show=show_preview or _nothing,
                                          poll_seconds=poll_seconds, leases=self.leases)  # fmt: skip
        self.preview_wait = preview_wait
        self.starter = Starter(service, sessions, reporter, on_running=self._on_running, limit=self._limit,
                               backoff_base=start_backoff_base, backoff_cap=start_backoff_cap,
                               before_post=self.previews.settle if self.previews else None,
                               leases=self.leases)  # fmt: skip
        self._previewed: dict[int, Followed] = {}  # request id → its preview, followed by the same loop
        self._followed: dict[int, Followed] = {}
        self._delays: dict[_Key, float] = {}
        self._generations: dict[_Key, int] = {}
        self._heap: list[_Due] = []
        self._seq = itertools.count()
        self._queue: asyncio.Queue[_Key] = asyncio.Queue()
        self._next_start = 0.0  # loop time before which no further visit starts (pacing)
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()

    # ---- public ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Resume everything the database says is in flight, then run the loop in the background."""
        if self._loops:
            return
        self._loops.append(asyncio.create_task(self._schedule_loop(), name="follower-scheduler"))
        for n in range(self._concurrency):
            self._loops.append(asyncio.create_task(self._worker(), name=f"follower-worker-{n}"))
        if self.leases.shared:  # sessions under leases; starts and summaries by the recovery tick, not here
            keeper = keep_leases(self, self.leases, self._service.get)
            self._loops.append(asyncio.create_task(keeper, name="follower-leases"))
            recovering = recovery_loop(self, self._service, self.leases, self._singletons)
            self._loops.append(asyncio.create_task(recovering, name="follower-recovery"))
            return
        # one process (SQLite): whatever a crashed process left unfinished is this one's
        # summaries a dead process claimed but never posted: before this follower claims any itself
        await self._reporter.resume_summaries(self._service, self._sessions)
        for request in await self._service.in_states(RequestState.APPROVED, RequestState.STARTING):
            self.starter.start_in_background(request.id)
        for request in await self._service.in_states(RequestState.RUNNING):
            self._follow(request, spread=True)
        if self.previews is not None:  # a restart carries on following (or starting) unfinished previews
            for request in await self.previews.ledger.running():
                self.previews.start_in_background(request.id, resume=True)
        for request in await self._service.in_states(RequestState.FINISHED):
            if not request.reported:
                self._spawn(self._report(request), f"report-{request.id}")

    def start_in_background(self, request_id: int) -> None:
        """Start an approved request's sessions in the background (idempotent, returns at once)."""
        if request_id not in self._followed:
            self.starter.start_in_background(request_id)

    def finish_in_background(self, request: Request) -> None:
        """Finish and report a request whose sessions all ended (recovery: its lease decides who does)."""
        if request.id not in self._followed:
            self._spawn(self._finish(request), f"finish-{request.id}")

    def resume_preview(self, request_id: int) -> None:
        """Carry on with a preview whose start a dead replica left unfinished (recovery)."""
        if self.previews is not None:
            self.previews.start_in_background(request_id, resume=True)

    async def cancel(self, request_id: int) -> None:
        """Cancel the request's unfinished ImmyBot sessions (the lifecycle already has `cancel_requested`)."""
        self.stop_preview(request_id)
        with request_context(request_id):
            followed = self._followed.get(request_id)
            if followed is None:
                request = await self._service.get(request_id)
                if request.state is RequestState.RUNNING and not self.leases.shared:  # shared: the holder cancels
                    self._follow(request)
                return  # approved/starting: the lifecycle made it cancelled, the starter stops by itself
            followed.request = followed.request.model_copy(update={"cancel_requested": True})
            for session_id in followed.pending:
                self._schedule((request_id, session_id), 0.0)

    async def aclose(self) -> None:
        await self.starter.aclose()
        if self.previews is not None:
            await self.previews.aclose()
        tasks = [*self._loops, *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loops.clear()

    @property
    def in_flight(self) -> int:
        return sum(len(f.pending) for f in (*self._followed.values(), *self._previewed.values()))

    @property
    def idle(self) -> bool:
        """Nothing is being started, followed or reported (tests and the benchmark poll this)."""
        previewing = self._previewed or (self.previews is not None and self.previews.busy)
        return not (self._followed or previewing or self.starter.busy or self._background)

    # ---- following -----------------------------------------------------------------------------

    def _on_running(self, request: Request) -> None:  # shared: its sessions are due, unowned: claim them now
        self.claim_now.set() if self.leases.shared else self._follow(request)

    def _on_previewing(self, request: Request) -> None:  # likewise for a preview's sessions
        self.claim_now.set() if self.leases.shared else self._follow_preview(request)

    def _follow(self, request: Request, *, spread: bool = False, only: set[int] | None = None) -> None:
        if request.id in self._followed:
            return
        since = request.updated_at if spread else self._clock()  # record_started stamped updated_at
        pending = {s.session_id for s in request.sessions if not s.terminal}
        pending &= pending if only is None else only
        followed = Followed(request, give_up_at(request, since, self.max_wait), pending)
        self._followed[request.id] = followed
        self._track(followed, spread=spread)
        self._spawn(self._show(request), f"progress-{request.id}")
        if not pending:
            self._complete(followed)

    def _track(self, followed: Followed, *, spread: bool) -> None:
        request = followed.request
        for session_id in followed.pending:
            first = self.poll_seconds * random.uniform(0.0 if spread else JITTER, 1.0 + JITTER)
            self._delays[(request.id, session_id)] = self.poll_seconds
            self._schedule((request.id, session_id), 0.0 if followed.cancelling else first)

    def _schedule(self, key: _Key, delay: float) -> None:
        generation = self._generations.get(key, 0) + 1
        self._generations[key] = generation
        at = asyncio.get_running_loop().time() + delay
        heapq.heappush(self._heap, (at, next(self._seq), key, generation))
        if self._heap[0][2] == key:
            self._wake.set()

    async def _schedule_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._heap and self._heap[0][0] <= now:
                _, _, key, generation = heapq.heappop(self._heap)
                if self._generations.get(key) == generation:
                    self._generations[key] = -generation  # taken: stale until rescheduled
                    self._queue.put_nowait(key)
            self._wake.clear()
            timeout = self._heap[0][0] - now if self._heap else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            request_id, session_id = await self._queue.get()
            # Pacing: visits start at least a gap apart across workers, and always yield first, so
            # one loop iteration never runs two visits (nor a response plus the next request).
            now = loop.time()
            start = max(now, self._next_start)
            self._next_start = start + min(MAX_GAP, self.poll_seconds / PACE_HEADROOM / max(1, self.in_flight))
            await asyncio.sleep(start - now)
            followed = self._followed.get(request_id)
            if followed is None or session_id not in followed.pending:
                followed = self._previewed.get(request_id)  # session ids are ImmyBot's: never in both
            if followed is None or session_id not in followed.pending:
                continue
            with request_context(request_id):
                try:
                    await self._visit(followed, session_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("following session %s failed; trying again later", session_id)
                    self._reschedule(followed, session_id, self.poll_cap)

    async def _visit(self, followed: Followed, session_id: int) -> None:
        key = (followed.request.id, session_id)
        cancelling = followed.cancelling and session_id not in followed.cancel_sent
        try:
            async with self._limit:
                if cancelling:
                    await self._sessions.cancel(session_id)
                    followed.cancel_sent.add(session_id)
                status = await self._sessions.status(session_id)
        except (BackendUnavailable, BackendRejected) as error:
            wait = min(self._delays.get(key, self.poll_seconds) * 2, self.poll_cap)
            wait = max(wait, getattr(error, "retry_after", None) or 0.0)
            log.warning("polling session %s failed (%s); retrying in %.1fs", session_id, error, wait)
            if self._clock() >= followed.deadline:
                return await self._set_status(followed, session_id, TIMED_OUT)
            return self._reschedule(followed, session_id, wait)
        if followed.cancelling and session_id in followed.cancel_sent and not _terminal(status):
            status = CANCELLED  # ImmyBot took the cancel; it may only report it a moment later
        if not _terminal(status) and self._clock() >= followed.deadline:
            status = TIMED_OUT
        await self._set_status(followed, session_id, status)
        if _terminal(status):
            return
        delay = self._delays.get(key, self.poll_seconds)
        waiting = status in WAITING_SESSION_STATUSES
        self._delays[key] = min(delay * BACKOFF, self.poll_cap) if waiting else self.poll_seconds
        if waiting and waits_until(followed.request, self._clock()) is not None:
            self._delays[key] = self.poll_cap  # scheduled for later: nothing to see before its time
        self._reschedule(followed, session_id, self._delays[key])
        if self.leases.shared:  # where a replica taking this session over would pick it up
            await self.leases.reschedule(*key, self._clock() + timedelta(seconds=self._delays[key]))

    def _reschedule(self, followed: Followed, session_id: int, delay: float) -> None:
        if followed.cancelling and session_id not in followed.cancel_sent:
            delay = min(delay, self.poll_seconds)
        self._schedule((followed.request.id, session_id), delay * random.uniform(1 - JITTER, 1 + JITTER))

    async def _set_status(self, followed: Followed, session_id: int, status: str) -> None:
        current = next((s for s in followed.sessions if s.session_id == session_id), None)
        ending_here = _terminal(status) and session_id in followed.pending
        if current is not None and current.status == status and not ending_here:
            return  # unchanged (a terminal status recorded elsewhere, e.g. by the preview's settle, still ends it)
        if followed.preview and self.previews is not None:
            followed.request = await self.previews.ledger.update_session(followed.request.id, session_id, status)
        else:
            followed.request = await self._service.update_session(followed.request.id, session_id, status)
        if _terminal(status):
            followed.pending.discard(session_id)
            self._delays.pop((followed.request.id, session_id), None)
            self._generations.pop((followed.request.id, session_id), None)
            if self._on_session_end is not None and not followed.preview:
                self._on_session_end("timed_out" if status == TIMED_OUT else status)
            log.info("session %s ended: %s", session_id, status)
        if not followed.preview:
            await self._show(followed.request)
        if not followed.pending:
            self._complete(followed)

    async def _show(self, request: Request) -> None:
        try:
            if self.leases.shared and not await self.leases.may_show(request.id):
                return
            await self._reporter.progress(request)
        except Exception:
            log.exception("could not update the status message")

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background step %s failed", task.get_name(), exc_info=task.exception())


def _terminal(status: str) -> bool:  # `SessionInfo.terminal`, without building a model every poll
    return status in TERMINAL_SESSION_STATUSES or status == TIMED_OUT
