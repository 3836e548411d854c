"""Recovery across replicas (SPEC §9): a singleton tick, every lease, on whichever replica gets it.

On SQLite one process does everything, so a crashed process's unfinished work is resumed at its next
start-up (`Follower.start`). With replicas that is not enough, nor safe: the other replica may be doing
that very work right now, and a replica that died may never restart. So on PostgreSQL no replica
resumes anything at start-up; instead, every `LEASE_SECONDS`, one replica (`singleton("recovery")`)
looks for work nobody holds a live lease on and hands it to its own starter / finisher, which take the
work's lease first (`work_lease.leased`) — a live holder keeps it, so nothing is done twice:

- approved or starting requests: a start whose replica died (its lease ran out, or it died before
  taking one) is resumed, looking its sessions up by group id before any POST;
- running requests whose sessions have all ended, and lapsed summary leases: finished and reported
  (a summary claimed but not marked posted is resumed by the reporter, reading the thread first);
- lapsed preview-start leases: the preview's start is resumed (or ended, once the request was decided);
- once per replica, recently finished requests: a summary left unposted with no lease at all (a copy).

Sessions in flight (runs' and previews') are not here: `session_watch` leases (`lease_keeper.py`) move
them. A dead replica's work is thus picked up within its lease plus one tick: two leases at most.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.workflow.leases import SessionLeases, Singletons, stop_requested
from bot.workflow.lifecycle import Lifecycle
from bot.workflow.model import Request, RequestState
from bot.workflow.work_lease import PREVIEW_START, START, SUMMARY, request_of

log = logging.getLogger(__name__)

SWEEP_WITHIN = timedelta(days=7)  # as the SQLite start-up's summary recovery (`recovery.RECHECK_WITHIN`)


class _Recovers(Protocol):
    def start_in_background(self, request_id: int) -> None: ...

    def finish_in_background(self, request: Request) -> None: ...

    def resume_preview(self, request_id: int) -> None: ...


async def recovery_loop(follower: _Recovers, service: Lifecycle, leases: SessionLeases, singletons: Singletons) -> None:
    """Runs until cancelled; the first pass at once (a replica starting up after a crash)."""
    every = max(leases.lease_seconds, 0.1)
    swept = False
    while not stop_requested():
        try:
            async with singletons.singleton("recovery") as mine:
                found = await _scan(service, leases, sweep=not swept) if mine else ([], [], [])
                swept = swept or mine
            starts, finishes, previews = found
            for request_id in starts:
                follower.start_in_background(request_id)
            for request in finishes:
                follower.finish_in_background(request)
            for request_id in previews:
                follower.resume_preview(request_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("recovery pass failed; trying again")
        await asyncio.sleep(every)


async def _scan(
    service: Lifecycle, leases: SessionLeases, *, sweep: bool = False
) -> tuple[list[int], list[Request], list[int]]:
    """What may need resuming; the starter / finisher decide by taking (or not getting) its lease. `sweep`
    (this replica's first pass) adds recently finished requests, whose summary may have been left unposted
    without any lease (state copied from SQLite by `db copy` after a crash): the reporter skips the posted."""
    starting = await service.in_states(RequestState.APPROVED, RequestState.STARTING)
    starts = [r.id for r in starting]
    lapsed_starts = {request_of(key) for key in await leases.lapsed(START)} - set(starts)
    for request_id in sorted(lapsed_starts):  # decided meanwhile: the starter cleans up (strays, the lease)
        starts.append(request_id)
    finishes = [r for r in await service.in_states(RequestState.RUNNING)
                if all(s.terminal for s in r.sessions)]  # fmt: skip
    if sweep:
        since = datetime.now(UTC) - SWEEP_WITHIN
        finishes += [r for r in await service.in_states(RequestState.FINISHED) if r.updated_at >= since]
    seen = {r.id for r in finishes}
    for request_id in sorted({request_of(key) for key in await leases.lapsed(SUMMARY)} - seen):
        request = await service.get(request_id)
        if request.state in (RequestState.RUNNING, RequestState.FINISHED):
            finishes.append(request)
        else:
            log.warning("a summary lease on request %s, which is %s", request_id, request.state.value)
    previews = sorted({request_of(key) for key in await leases.lapsed(PREVIEW_START)})
    if starts or finishes or previews:
        log.debug("recovery: starts %s, summaries %s, previews %s", starts, [r.id for r in finishes], previews)
    return starts, finishes, previews
