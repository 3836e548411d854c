"""Start an approved request's ImmyBot sessions exactly once, also across crashes and outages.

The order of moves is what makes it safe:

1. `begin_start` records a fresh `sessionGroupId` and the state `starting` BEFORE anything is sent.
2. A request found in `starting` (after a crash, or after a POST that failed with a 5xx/timeout and so
   may have started sessions) is never started blindly: its sessions are looked up per computer by
   the group id first, and only the computers that have none are started.
3. `record_started` stores every session id (started and already in progress) and moves it to
   `running`; from then on the follower polls them.

While ImmyBot is down the request stays `starting`, the thread is told once per request (a durable
claim, so a restart does not say it again), and the start is retried with backoff (base, doubling,
capped) until it works or the request is cancelled.

With replicas (SPEC §9) a start runs under a lease on the request (`work_lease.py`): one replica starts
it, renewing while it works and renewing once more right before the POST; a replica that finds it held
by a live one leaves it alone, and a dead holder's start is resumed (looked up first, as in 2.) by the
replica whose recovery tick finds its lease run out.

An approver may cancel while the start is in flight. The state is checked right before the POST, so a
cancelled request is never posted again; and when the POST (or a lookup) turns up sessions for a request
that is cancelled by then, they are cancelled in ImmyBot, audited (`sessions.started`, outcome
`cancelled`) and the thread is told.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.logs import request_context
from bot.retry import RetryPolicy, retry_call
from bot.workflow.errors import BackendRejected, BackendUnavailable, DomainError, IllegalTransition
from bot.workflow.leases import LocalLeases, SessionLeases
from bot.workflow.lifecycle import Lifecycle
from bot.workflow.model import Effect, Request, RequestState, SessionInfo
from bot.workflow.ports import Reporter, SessionsPort
from bot.workflow.work_lease import Lease, LeaseLost, leased, start_key

log = logging.getLogger(__name__)

Limiter = Callable[[], Awaitable[None]]
ONCE_TTL = 30 * 86400.0  # a durable "said once" flag outlives any outage
FIND_ATTEMPTS = 8  # lookups by group id after a POST without session ids (~6 min at the default backoff)


def _worth_retrying(error: BaseException) -> bool:
    """ImmyBot unavailable, or something unexpected; not a refusal nor a move the lifecycle forbids."""
    return isinstance(error, BackendUnavailable) or not isinstance(error, BackendRejected | DomainError)


class Starter:
    """`start_in_background(id)` starts a request; a second call while one runs does nothing."""

    def __init__(
        self,
        service: Lifecycle,
        sessions: SessionsPort,
        reporter: Reporter,
        *,
        on_running: Callable[[Request], None],
        limit: asyncio.Semaphore,
        backoff_base: float = 3.0,
        backoff_cap: float = 60.0,
        before_post: Callable[[int], Awaitable[set[int]]] | None = None,
        leases: SessionLeases | None = None,
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._reporter = reporter
        self._on_running = on_running
        self._limit = limit
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.find_attempts = FIND_ATTEMPTS
        self._tasks: dict[int, asyncio.Task[None]] = {}
        # the preview's settle step: its sessions are cancelled first, their ids are never the run's
        self._before_post = before_post
        self._leases: SessionLeases = leases or LocalLeases()

    @property
    def busy(self) -> frozenset[int]:
        return frozenset(self._tasks)

    def start_in_background(self, request_id: int) -> None:
        if request_id in self._tasks:
            return
        task = asyncio.create_task(self._run(request_id), name=f"start-{request_id}")
        self._tasks[request_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(request_id, None))

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ---- one request -------------------------------------------------------------------------

    async def _run(self, request_id: int) -> None:
        with request_context(request_id):
            try:
                request = await self._service.get(request_id)
                async with leased(self._leases, start_key(request)) as lease:
                    if lease is None:  # another live replica is starting it
                        return
                    if request.state in (RequestState.APPROVED, RequestState.STARTING):
                        await self._run_held(request_id, lease)
                    elif request.state is RequestState.RUNNING:
                        self._on_running(request)
                    elif request.state is RequestState.CANCELLED and request.session_group_id:
                        # cancelled while a replica that died was starting it: its POST may have gone out
                        await self._cancel_strays(request, await self._look_up_all(request))
            except LeaseLost as error:
                log.warning("stopped starting: %s", error)
            except DomainError as error:
                log.info("not starting: %s", error)

    async def _run_held(self, request_id: int, lease: Lease) -> None:
        maybe_sent = {"yes": False}  # could an earlier attempt of THIS process have started sessions?
        told_unavailable = False

        async def once() -> None:
            try:
                await self._start_once(request_id, maybe_sent, lease)
            except BackendUnavailable:
                maybe_sent["yes"] = True
                raise

        async def retrying(attempt: int, error: BaseException, wait: float) -> None:
            nonlocal told_unavailable
            if not isinstance(error, BackendUnavailable):
                log.error("starting failed unexpectedly; retrying in %.1fs", wait, exc_info=error)
                return
            log.warning("ImmyBot unavailable while starting; retrying in %.1fs: %s", wait, error)
            if not told_unavailable:
                told_unavailable = True
                if await self._service.claim(Effect.UNAVAILABLE_TOLD.key(request_id), ONCE_TTL):
                    await self._tell_unavailable(request_id)

        policy = RetryPolicy(attempts=None, base_seconds=self.backoff_base, cap_seconds=self.backoff_cap,
                             max_retry_after=None)
        try:
            await retry_call(once, policy, on_retry=retrying,
                             retry_if=_worth_retrying)
        except BackendRejected as error:
            log.error("ImmyBot refused to start the sessions: %s", error)
            await self._give_up(request_id)
        except DomainError as error:
            log.info("not starting: %s", error)

    async def _start_once(self, request_id: int, maybe_sent: dict[str, bool], lease: Lease) -> None:
        request = await self._service.get(request_id)
        if request.state is RequestState.APPROVED:
            request = await self._service.begin_start(request_id)
        elif request.state is RequestState.STARTING:
            maybe_sent["yes"] = True  # found starting: a crashed process may have sent the POST
        if request.state is RequestState.RUNNING:
            self._on_running(request)
            return
        if request.state is not RequestState.STARTING:
            log.info("not starting: request is %s", request.state.value)
            if request.state is RequestState.CANCELLED and maybe_sent["yes"] and request.session_group_id:
                await self._cancel_strays(request, await self._look_up_all(request))
            return
        await self._attempt(request, look_up_first=maybe_sent["yes"], lease=lease)

    async def _attempt(self, request: Request, *, look_up_first: bool, lease: Lease) -> None:
        group_id = request.session_group_id
        assert group_id, "a starting request always has its session group id"
        computer_ids = list(request.run_computer_ids)
        found: list[SessionInfo] = []
        to_start = computer_ids
        if look_up_first:
            found = await self._look_up(computer_ids, group_id)
            have = {s.computer_id for s in found}
            to_start = [c for c in computer_ids if c not in have]
            if found:
                log.info(
                    "found %d session(s) of group %s already started; starting %d more",
                    len(found),
                    group_id,
                    len(to_start),
                )
        started: list[SessionInfo] = []
        cancelled = False
        if to_start:
            preview_ids = await self._before_post(request.id) if self._before_post else set()
            async with self._limit:
                cancelled = await self._is_cancelled(request.id)  # as late as possible: right before the POST
                if not cancelled:
                    await lease.check()  # still ours: no other replica posts it meanwhile
                    started = await self._sessions.start(request, to_start, group_id)
            if clash := [s.session_id for s in started if s.session_id in preview_ids]:
                # ImmyBot took a preview session still ending for this run's: never follow it as the run's.
                # The others did start: the retry looks them up by this run's group id, then starts the rest.
                raise BackendUnavailable(f"ImmyBot answered with preview session(s) {clash} as already in "
                                         "progress", maybe_started=True)
            answered = {s.computer_id for s in started}
            missing = [c for c in to_start if c not in answered]
            if missing and not cancelled:  # run-immy-service may answer with empty lists (API.md §4.3)
                started += await self._look_up_until_found(missing, group_id)
        sessions = _unique(found + started)
        if not cancelled:
            try:
                running = await self._service.record_started(request.id, sessions)
            except IllegalTransition as error:
                if error.current is not RequestState.CANCELLED:
                    raise
                cancelled = True
        if cancelled:
            await self._cancel_strays(await self._service.get(request.id), sessions)
            return
        log.info("started %d session(s)", len(sessions))
        self._on_running(running)

    async def _cancel_strays(self, request: Request, sessions: list[SessionInfo]) -> None:
        """The request was cancelled while ImmyBot started these sessions: cancel them, audit, tell."""
        if not sessions:
            return
        ids = [s.session_id for s in sessions]
        log.warning("request was cancelled while starting; cancelling the %d session(s) ImmyBot started: %s",
                    len(ids), ids)  # fmt: skip
        refused = await self._cancel_sessions(ids)  # first: nothing must keep running
        if refused:
            log.error("ImmyBot refused to cancel session(s) %s: they may still run", refused)
        try:
            await self._service.record_stray_sessions(request.id, sessions)
        except Exception:
            log.exception("could not audit the sessions started for the cancelled request: %s", ids)
        try:
            await self._reporter.start_cancelled(request, [i for i in ids if i not in refused], refused)
        except Exception:
            log.exception("could not tell the thread about the cancelled sessions")

    async def _cancel_sessions(self, session_ids: list[int]) -> list[int]:
        """Cancel each session, retrying while ImmyBot is unavailable; the ids ImmyBot refused to cancel."""
        refused: list[int] = []
        policy = RetryPolicy(attempts=None, base_seconds=self.backoff_base, cap_seconds=self.backoff_cap,
                             max_retry_after=None)
        for session_id in session_ids:

            async def cancel(session_id: int = session_id) -> None:
                async with self._limit:
                    await self._sessions.cancel(session_id)

            def retrying(attempt: int, error: BaseException, wait: float, session_id: int = session_id) -> None:
                log.warning("could not cancel session %s yet; retrying in %.1fs: %s", session_id, wait, error)

            try:
                await retry_call(cancel, policy, on_retry=retrying,
                                 retry_if=lambda error: isinstance(error, BackendUnavailable))
            except BackendRejected as error:
                log.error("ImmyBot refused to cancel session %s: %s", session_id, error)
                refused.append(session_id)
        return refused

    async def _look_up_all(self, request: Request) -> list[SessionInfo]:
        """Sessions an earlier, unanswered POST may have started (a request cancelled between retries)."""
        assert request.session_group_id
        return _unique(await self._look_up(list(request.run_computer_ids), request.session_group_id))

    async def _look_up_until_found(self, computer_ids: list[int], group_id: str) -> list[SessionInfo]:
        """After a POST that answered without (some) session ids (run-immy-service-new never gives any):
        ImmyBot may create the sessions a moment later, so look again with backoff, `find_attempts` times.
        Never POSTed again: a computer still without a session is logged, and the run goes on without it."""
        found: list[SessionInfo] = []
        missing = list(computer_ids)
        for attempt in range(self.find_attempts):
            if attempt:
                await asyncio.sleep(min(self.backoff_base * 2 ** (attempt - 1), self.backoff_cap))
            found += await self._look_up(missing, group_id)
            have = {s.computer_id for s in found}
            missing = [c for c in missing if c not in have]
            if not missing:
                break
        if missing:
            log.error("ImmyBot created no session of group %s for computer(s) %s", group_id, missing)
        return found

    async def _look_up(self, computer_ids: list[int], group_id: str) -> list[SessionInfo]:
        async def one(computer_id: int) -> list[SessionInfo]:
            async with self._limit:
                return await self._sessions.find(computer_id, group_id)

        found = await asyncio.gather(*(one(c) for c in computer_ids))
        return [s for group in found for s in group]

    async def _is_cancelled(self, request_id: int) -> bool:
        return (await self._service.get(request_id)).state is RequestState.CANCELLED

    async def _tell_unavailable(self, request_id: int) -> None:
        try:
            request = await self._service.get(request_id)
            if request.state is RequestState.STARTING:
                await self._reporter.progress(request, immybot_unavailable=True)
        except Exception:
            log.exception("could not tell the thread that ImmyBot is unavailable")

    async def _give_up(self, request_id: int) -> None:
        """A start ImmyBot refuses for good: the request runs with no sessions, so it finishes failed."""
        running = await self._service.record_started(request_id, [])
        self._on_running(running)


def _unique(sessions: list[SessionInfo]) -> list[SessionInfo]:
    seen: dict[int, SessionInfo] = {}
    for session in sessions:
        seen.setdefault(session.session_id, session)
    return list(seen.values())
