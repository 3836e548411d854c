"""Start a request's detection-only preview, read its verdicts, and get it out of the real run's way.

- `start_in_background(id)`: a pending request that is not itself a preview gets one detection-only run
  (its own `sessionGroupId`), retried a few times while ImmyBot is unavailable; a retry after a POST that
  may have reached ImmyBot looks the sessions up by group id first. Given up: the card says so once
  and approving works as ever. Sessions ImmyBot answers as "already in progress" belong to someone else:
  they are never recorded, followed or cancelled as the preview's.
- The follower follows the preview's sessions like any other (no second follower) and calls `finish`
  when they have all ended, or at the preview's 10-minute deadline (`finish` then keeps what is known).
- `settle(request)` runs right before the real run's POST: the preview's unfinished sessions are
  cancelled and waited for, so ImmyBot never answers the real run with a preview session. A preview
  another replica is starting right now is waited for (bounded) until its sessions are recorded.
- With replicas (SPEC §9) a preview's start runs under a lease (`work_lease.py`), so a restarted replica
  never starts a preview twice; a dead starter's preview is resumed by the recovery tick — or, once the
  request was decided, only looked up (sessions found are cancelled) and ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.logs import request_context
from bot.retry import RetryPolicy, retry_call
from bot.workflow.errors import BackendRejected, BackendUnavailable, DomainError
from bot.workflow.leases import LocalLeases, SessionLeases
from bot.workflow.model import TIMED_OUT, Request, RequestState, SessionInfo
from bot.workflow.ports import SessionsPort
from bot.workflow.preview import ActionFacts, ComputerPreview, PreviewState, Verdict, computer_preview
from bot.workflow.previewing import PreviewLedger
from bot.workflow.work_lease import LeaseLost, leased, preview_key

log = logging.getLogger(__name__)

PREVIEW_WAIT = timedelta(minutes=10)
START_ATTEMPTS = 3
START_BACKOFF_SECONDS = 2.0  # module-level so tests can shorten the wait instead of sleeping
SETTLE_POLLS = 8
IN_PROGRESS_ELSEWHERE = "ImmyBot is already running a session on it"
CANCELLED_STATUS = "Cancelled"
_UNKNOWN_YET = "Running"  # a session we stopped (or gave up on) tells what it knew, not a failure


def _unavailable(error: BaseException) -> bool:
    return isinstance(error, BackendUnavailable)


class PreviewRunner:
    def __init__(
        self,
        ledger: PreviewLedger,
        sessions: SessionsPort,
        *,
        limit: asyncio.Semaphore,
        follow: Callable[[Request], None],
        stop: Callable[[int], None],
        show: Callable[[Request], Awaitable[None]],
        poll_seconds: float,
        backoff_base: float | None = None,
        leases: SessionLeases | None = None,
    ) -> None:
        self.ledger = ledger
        self._leases: SessionLeases = leases or LocalLeases()
        self._sessions = sessions
        self._limit = limit
        self._follow = follow
        self._stop = stop
        self._show = show
        self.poll_seconds = poll_seconds
        self.backoff_base = START_BACKOFF_SECONDS if backoff_base is None else backoff_base
        self._tasks: dict[int, asyncio.Task[None]] = {}

    @property
    def busy(self) -> frozenset[int]:
        return frozenset(self._tasks)

    def start_in_background(self, request_id: int, *, resume: bool = False) -> None:
        if request_id in self._tasks:
            return
        task = asyncio.create_task(self._run(request_id, resume=resume), name=f"preview-{request_id}")
        self._tasks[request_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(request_id, None))

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ---- starting -----------------------------------------------------------------------------

    async def _run(self, request_id: int, *, resume: bool) -> None:
        with request_context(request_id):
            try:
                async with leased(self._leases, preview_key(request_id)) as lease:
                    if lease is not None:  # else another live replica is starting it
                        await self._run_held(request_id, resume=resume)
            except LeaseLost as error:
                log.warning("stopped starting the preview: %s", error)

    async def _run_held(self, request_id: int, *, resume: bool) -> None:
        try:
            request = await self.ledger.get(request_id) if resume else await self.ledger.begin(request_id)
            if request is None or request.preview is None or request.preview.group_id is None:
                return
            if request.preview.state is not PreviewState.RUNNING:
                return
            if request.preview_sessions:  # a restart after the sessions were recorded
                self._follow(request)
                return
            if request.state is not RequestState.PENDING:  # decided while its starter was dead: no POST now
                await self._end_decided(request)
                return
            sessions = await self._start(request, look_up_first=resume)
        except (BackendUnavailable, BackendRejected) as error:
            log.warning("the preview could not start (%s); approving works without it", error)
            await self._end_unavailable(request_id)
            return
        except DomainError as error:
            log.info("no preview: %s", error)
            return
        self._follow(await self.ledger.record_started(request_id, sessions))
        log.info("preview started: %d session(s)", len(sessions))

    async def _start(self, request: Request, *, look_up_first: bool) -> list[SessionInfo]:
        assert request.preview is not None and request.preview.group_id is not None
        group_id = request.preview.group_id
        computer_ids = list(request.targets.computer_ids)
        maybe_sent = {"yes": look_up_first}

        async def once() -> list[SessionInfo]:
            found: list[SessionInfo] = []
            if maybe_sent["yes"]:  # an earlier POST may have reached ImmyBot: never start a computer twice
                for computer_id in computer_ids:
                    async with self._limit:
                        found += await self._sessions.find(computer_id, group_id)
            missing = [c for c in computer_ids if c not in {s.computer_id for s in found}]
            if not missing:
                return found
            try:
                async with self._limit:
                    answered = await self._sessions.start_preview(request, missing, group_id)
            except BackendUnavailable as error:
                maybe_sent["yes"] = maybe_sent["yes"] or error.maybe_started
                raise
            return found + [s for s in answered if not s.already_in_progress]

        def retrying(attempt: int, error: BaseException, wait: float) -> None:
            log.warning("ImmyBot unavailable while starting the preview; retrying in %.1fs: %s", wait, error)

        policy = RetryPolicy(attempts=START_ATTEMPTS, base_seconds=self.backoff_base, cap_seconds=30.0)
        return await retry_call(once, policy, retry_if=_unavailable, on_retry=retrying)

    async def _end_decided(self, request: Request) -> None:
        """A preview whose starter died before recording its sessions, on a request decided since: whatever
        its POST started is cancelled (never left running next to the real run), and the preview ends."""
        assert request.preview is not None and request.preview.group_id is not None
        found: list[SessionInfo] = []
        for computer_id in request.targets.computer_ids:
            async with self._limit:
                found += await self._sessions.find(computer_id, request.preview.group_id)
        for session in found:
            await self._cancel_quietly(session.session_id)
        await self._end_unavailable(request.id)

    async def _end_unavailable(self, request_id: int) -> None:
        try:
            ended = await self.ledger.finish(request_id, PreviewState.UNAVAILABLE)
            if ended is not None:  # the one call that ended it says so on the card
                await self._show(ended)
        except Exception:
            log.exception("could not record that the preview could not start")

    # ---- finishing ------------------------------------------------------------------------------

    async def finish(self, request: Request, *, stopped: bool) -> None:
        """Read every preview session's verdict (what is known) and show them on the approval card."""
        with request_context(request.id):
            names = {c.id: c.name for c in request.targets.computers}
            by_computer = {s.computer_id: s for s in request.preview_sessions}
            computers = await asyncio.gather(*(
                self._verdict(request, by_computer.get(c.id), c.id, names[c.id], stopped=stopped)
                for c in request.targets.computers
            ))  # fmt: skip
            cut_short = stopped or any(s.status in (TIMED_OUT, CANCELLED_STATUS) for s in request.preview_sessions)
            state = PreviewState.PARTIAL if cut_short else PreviewState.FINISHED
            for session in request.preview_sessions:
                if session.status == TIMED_OUT:  # a detection still running after 10 minutes has no use left
                    await self._cancel_quietly(session.session_id)
            ended = await self.ledger.finish(request.id, state, computers)
            if ended is not None:
                try:
                    await self._show(ended)
                except Exception:
                    log.exception("could not show the preview on the approval card")

    async def _verdict(
        self, request: Request, session: SessionInfo | None, computer_id: int, name: str, *, stopped: bool
    ) -> ComputerPreview:
        if session is None:
            return ComputerPreview(computer_id=computer_id, computer_name=name, verdict=Verdict.PENDING,
                                   reason=IN_PROGRESS_ELSEWHERE)  # fmt: skip
        status = session.status
        if status == TIMED_OUT or (stopped and status == CANCELLED_STATUS):
            session = session.model_copy(update={"status": _UNKNOWN_YET})

        async def read() -> ActionFacts:
            async with self._limit:
                return await self._sessions.preview_facts(session, request.software, name)

        try:
            facts = await retry_call(read, RetryPolicy(attempts=2, base_seconds=self.poll_seconds, cap_seconds=5.0),
                                     retry_if=_unavailable)  # fmt: skip
        except (BackendUnavailable, BackendRejected) as error:
            log.warning("could not read preview session %s (%s)", session.session_id, error)
            facts = ActionFacts(computer_id=computer_id, computer_name=name, session_status=session.status)
        return computer_preview(facts)

    async def _cancel_quietly(self, session_id: int) -> None:
        try:
            async with self._limit:
                await self._sessions.cancel(session_id)
        except (BackendUnavailable, BackendRejected) as error:
            log.warning("could not cancel preview session %s (%s)", session_id, error)

    # ---- out of the real run's way ----------------------------------------------------------------

    async def settle(self, request_id: int) -> set[int]:
        """Before the real run's POST: the preview's start is waited for, its unfinished sessions cancelled
        and waited for (bounded). Returns every preview session id, never to be taken as the run's."""
        if (task := self._tasks.get(request_id)) is not None:
            await asyncio.gather(asyncio.shield(task), return_exceptions=True)
        request = await self.ledger.get(request_id)
        for poll in range(SETTLE_POLLS if self._leases.shared else 0):  # another replica is starting it now
            if request.preview is None or request.preview.state is not PreviewState.RUNNING or request.preview_sessions:
                break
            await asyncio.sleep(min(self.poll_seconds * 1.5**poll, 10.0))
            request = await self.ledger.get(request_id)
        pending = [s for s in request.preview_sessions if not s.terminal]
        if pending:
            self._stop(request_id)
            log.info("cancelling %d preview session(s) before the real run", len(pending))
            await asyncio.gather(*(self._cancel_and_wait(request_id, s.session_id) for s in pending))
        return {s.session_id for s in request.preview_sessions}

    async def _cancel_and_wait(self, request_id: int, session_id: int) -> None:
        await self._cancel_quietly(session_id)
        for poll in range(SETTLE_POLLS):
            try:
                async with self._limit:
                    status = await self._sessions.status(session_id)
            except (BackendUnavailable, BackendRejected) as error:
                log.warning("could not read preview session %s (%s)", session_id, error)
                status = ""
            if status and SessionInfo(session_id=session_id, status=status).terminal:
                await self.ledger.update_session(request_id, session_id, status)
                return
            await asyncio.sleep(min(self.poll_seconds * 1.5**poll, 10.0))
