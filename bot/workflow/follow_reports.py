"""The follower's finishing and reporting: when every session of a request is terminal (or timed out after
`max_wait`): `finish` (audits `request.finished`), then `claim_report`, then the summary is posted. Claim
first, then post (the reporter's durable marks make a crash mid-post resumable without a second summary).

With replicas (SPEC §9) all of it runs under the request's summary lease (`work_lease.py`), taken before
`finish`: one replica finishes and reports a request, renewing while it posts. A summary found claimed
(`claim_report` False) while this replica holds the lease was claimed by a replica that died before
marking it posted (its lease ran out): the reporter resumes it, reading the thread first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bot.logs import request_context
from bot.retry import RetryPolicy, retry_call
from bot.workflow.errors import DomainError, SessionsNotDone
from bot.workflow.model import Request, RequestState, SessionInfo, SessionResult
from bot.workflow.session_results import read_result
from bot.workflow.work_lease import LeaseLost, leased, summary_key

if TYPE_CHECKING:
    from bot.workflow.follow_previews import Followed
    from bot.workflow.leases import SessionLeases
    from bot.workflow.lifecycle import Lifecycle
    from bot.workflow.ports import Reporter, SessionsPort

log = logging.getLogger(__name__)

REPORT_ATTEMPTS = 6


class ReportingFollowing:
    """Mixed into `Follower`: finish a request whose sessions all ended, and post its summary once."""

    leases: SessionLeases
    poll_seconds: float
    poll_cap: float
    _service: Lifecycle
    _sessions: SessionsPort
    _reporter: Reporter
    _limit: asyncio.Semaphore
    _followed: dict[int, Followed]

    # the follower's own (annotations only: nothing here shadows them in the MRO)
    _spawn: Callable[[Coroutine[Any, Any, Any], str], None]
    _finish_preview: Callable[[Followed], Coroutine[Any, Any, None]]

    def _complete(self, followed: Followed) -> None:
        if followed.finishing:
            return
        followed.finishing = True
        if followed.preview:  # a preview's end writes its verdicts, never request.finished nor a summary
            self._spawn(self._finish_preview(followed), f"preview-end-{followed.request.id}")
            return
        self._spawn(self._finish(followed.request), f"finish-{followed.request.id}")

    async def _finish(self, request: Request) -> None:
        """Finish and report `request` (running with every session ended, or finished and not yet posted)."""
        with request_context(request.id):
            try:
                async with leased(self.leases, summary_key(request)) as lease:
                    if lease is None:  # another live replica finishes and reports it
                        self._followed.pop(request.id, None)
                        return
                    await self._finish_held(request.id)
            except LeaseLost as error:
                log.warning("stopped reporting: %s", error)
            finally:
                self._followed.pop(request.id, None)

    async def _finish_held(self, request_id: int) -> None:
        try:
            request = await self._retrying(lambda: self._service.finish(request_id), "finish")
        except (SessionsNotDone, DomainError) as error:
            # shared: another replica follows the request's other sessions and finishes it
            shared = self.leases.shared and isinstance(error, SessionsNotDone)
            log.log(logging.INFO if shared else logging.ERROR, "could not finish the request: %s", error)
            return
        self._followed.pop(request_id, None)
        await self._report_held(request)

    async def _report(self, request: Request) -> None:
        """Report a finished request (one found unreported at start-up, on SQLite)."""
        await self._finish(request)

    async def _report_held(self, request: Request) -> None:
        if not await self._retrying(lambda: self._service.claim_report(request.id), "claim the report"):
            if self.leases.shared and request.state is RequestState.FINISHED:
                # claimed by a replica that died before marking it posted: its lease ran out, ours now
                await self._reporter.recover_summary(request, self._sessions)
            return
        names = {c.id: c.name for c in request.targets.computers}
        results = list(await asyncio.gather(*(self._result(request, s, names) for s in request.sessions)))
        await self._retrying(lambda: self._reporter.final(request, results), "post the summary")
        log.info("request finished: %s", request.outcome.value if request.outcome else "?")

    async def _result(self, request: Request, session: SessionInfo, names: dict[int, str]) -> SessionResult:
        return await read_result(self._sessions, self._limit, request, session, names,
                                 base_seconds=self.poll_seconds, cap_seconds=self.poll_cap)

    async def _retrying(self, call: Callable[[], Coroutine[Any, Any, Any]], what: str) -> Any:
        def retrying(attempt: int, error: BaseException, wait: float) -> None:
            log.warning("could not %s; retrying in %.1fs", what, wait, exc_info=error)

        policy = RetryPolicy(attempts=REPORT_ATTEMPTS, base_seconds=max(self.poll_seconds, 0.2), cap_seconds=60.0,
                             max_retry_after=None, jitter=False)
        return await retry_call(call, policy, on_retry=retrying,
                                retry_if=lambda error: not isinstance(error, DomainError))
