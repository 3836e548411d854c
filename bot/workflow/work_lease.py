"""A lease on one piece of work across replicas (SPEC §9): a run's start, a summary, a preview's start.

    async with leased(leases, start_key(request)) as lease:
        if lease is None:
            return                      # another live replica is doing it
        ...                             # renewed in the background every third of a lease
        await lease.check()             # right before an effect that must happen once (the run POST)

The holder's name and expiry live in the database; the holder renews it while it works and lets it go
when done (or hands it back on shutdown); work that failed keeps its lease, which runs out, so the
recovery tick tries it again (a summary Slack would not take for a while). A replica that dies mid-work
stops renewing: once the lease has run out, the recovery tick
(`follow_recovery.py`) on another replica takes it (`lapsed`) and resumes the work where the database
says it stopped. Should the holder lose its lease (stalled longer than a lease, or the database out of
reach that long), its work is cancelled and ends with `LeaseLost`: the new holder carries on.
On SQLite (`LocalLeases`) every lease is this process's and nothing is renewed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from bot.workflow.errors import DomainError
from bot.workflow.leases import SessionLeases, stop_requested
from bot.workflow.model import Request

log = logging.getLogger(__name__)

START = "lease:start:"
SUMMARY = "lease:summary:"
PREVIEW_START = "lease:preview-start:"


def start_key(request: Request) -> str:
    return f"{START}{request.id}.{request.attempt}"


def summary_key(request: Request) -> str:
    return f"{SUMMARY}{request.id}.{request.attempt}"


def preview_key(request_id: int) -> str:
    return f"{PREVIEW_START}{request_id}"


def request_of(key: str) -> int:
    """The request id a lease key names (`lease:start:12.2` → 12)."""
    return int(key.rsplit(":", 1)[1].split(".", 1)[0])


class LeaseLost(DomainError):
    """Another replica took this work over (this one stalled past its lease): stop, it carries on."""


class Lease:
    def __init__(self, leases: SessionLeases, key: str) -> None:
        self._leases = leases
        self.key = key
        self.lost = False
        self.released = False  # the block ended: the renewing task stops, even if its cancellation was lost

    async def check(self) -> None:
        """Renew now; raise `LeaseLost` when another replica holds it (call right before a once-only effect)."""
        if self.lost or not await self._leases.keep(self.key):
            self.lost = True
            raise LeaseLost(f"another replica took {self.key} over")


@contextlib.asynccontextmanager
async def leased(leases: SessionLeases, key: str) -> AsyncIterator[Lease | None]:
    """Hold `key` for the block (None: another replica holds it); let go at the end, also on failure."""
    if not await leases.hold(key):
        log.debug("%s is held by another replica", key)
        yield None
        return
    lease = Lease(leases, key)
    keeper = asyncio.create_task(_renew(lease, leases, asyncio.current_task()), name=f"renew-{key}") \
        if leases.shared else None
    failed = False
    try:
        yield lease
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if lease.lost and task is not None and task.uncancel() == 0:  # cancelled by `_renew`, not by shutdown
            raise LeaseLost(f"another replica took {key} over") from None
        raise
    except Exception:
        failed = True  # kept: it runs out, and the recovery tick tries the work again later
        raise
    finally:
        lease.released = True
        if keeper is not None:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        if not lease.lost and not (failed and leases.shared):
            try:
                await asyncio.shield(leases.let_go(key))
            except Exception:
                log.warning("could not let %s go; it runs out by itself", key, exc_info=True)


async def _renew(lease: Lease, leases: SessionLeases, work: asyncio.Task[object] | None) -> None:
    every = max(leases.lease_seconds / 3, 0.05)
    loop = asyncio.get_running_loop()
    renewed = loop.time()
    # `released` and `stop_requested` are checked, not only the cancellation: a cancel that lands as a query
    # ends can be lost on the way, and the block's end would then wait for this loop forever.
    while not lease.released:
        await asyncio.sleep(every)
        if lease.released or stop_requested():
            return
        try:
            if await leases.keep(lease.key):
                renewed = loop.time()
                continue
        except Exception:
            log.warning("could not renew %s", lease.key, exc_info=True)
            if loop.time() - renewed < leases.lease_seconds:
                continue  # not run out yet: nobody can have taken it
        lease.lost = True
        log.error("lost the lease on %s: another replica carries on with it", lease.key)
        if work is not None:
            work.cancel()
        return
