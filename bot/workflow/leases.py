"""Which replica follows which session, and which runs a once-per-tick job (SPEC §9).

    SessionLeases   the follower's seam: claim due sessions under a lease, renew, reschedule, release,
                    and "may I edit this request's status message"; plus leases on one piece of work
                    by name (`hold` / `keep` / `let_go`: a run's start, a summary, a preview's start)
    Singletons      `async with singletons.singleton("expiry") as mine:` — one replica per tick

On SQLite there is one replica: `LocalLeases` says so (`shared = False`) and the follower follows
everything in process, as before; `LocalSingletons` always says "mine". The PostgreSQL adapter
(`bot/store/pg/leases.py`) implements both over `session_watch` and transaction-scoped advisory locks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Claimed:
    """A session this replica now holds; `taken_over_from` names the replica whose lease had run out."""

    request_id: int
    session_id: int
    taken_over_from: str | None = None
    preview: bool = False  # a preview's (SPEC §8) detection-only session, not the run's


class SessionLeases(Protocol):
    shared: bool  # True: other replicas follow sessions too, so follow only what is claimed here
    owner: str  # this replica's name (in /healthz and the logs)
    lease_seconds: float

    async def claim_due(self) -> list[Claimed]:
        """Take the due sessions nobody holds (or whose holder's lease ran out)."""
        ...

    async def renew(self) -> set[tuple[int, int]]:
        """Extend every lease held; the (request_id, session_id) pairs still held (drop the rest)."""
        ...

    async def reschedule(self, request_id: int, session_id: int, next_poll_at: datetime) -> None: ...

    async def release(self) -> None:
        """Give every lease back (clean shutdown: another replica claims them at once)."""
        ...

    async def may_show(self, request_id: int) -> bool:
        """Only the lease holder edits the request's status message (nobody holds it once all ended)."""
        ...

    async def held(self) -> int:
        """How many live leases this replica holds (for /healthz)."""
        ...

    async def hold(self, key: str) -> bool:
        """Take the lease on one piece of work (`key`) unless a live lease on it exists (this replica's too)."""
        ...

    async def keep(self, key: str) -> bool:
        """Extend this replica's lease on `key`; False when another replica has taken it."""
        ...

    async def let_go(self, key: str) -> None:
        """The work is done (or handed back): the lease is gone."""
        ...

    async def lapsed(self, prefix: str) -> list[str]:
        """Keys starting with `prefix` whose holder's lease ran out without `let_go` (it died mid-work)."""
        ...


class Singletons(Protocol):
    def singleton(self, name: str) -> AbstractAsyncContextManager[bool]: ...


class LocalLeases:
    """One replica (SQLite): every session is this process's; nothing to claim or renew."""

    shared = False
    owner = "local"
    lease_seconds = 0.0

    async def claim_due(self) -> list[Claimed]:
        return []

    async def renew(self) -> set[tuple[int, int]]:
        return set()

    async def reschedule(self, request_id: int, session_id: int, next_poll_at: datetime) -> None:
        return None

    async def release(self) -> None:
        return None

    async def may_show(self, request_id: int) -> bool:
        return True

    async def held(self) -> int:
        return 0

    async def hold(self, key: str) -> bool:
        return True  # one process: the in-process task registries keep work from running twice

    async def keep(self, key: str) -> bool:
        return True

    async def let_go(self, key: str) -> None:
        return None

    async def lapsed(self, prefix: str) -> list[str]:
        return []  # a crashed process's work is resumed at start-up instead


class LocalSingletons:
    """One replica: every tick is this one's."""

    @asynccontextmanager
    async def singleton(self, name: str) -> AsyncIterator[bool]:
        yield True


def stop_requested() -> bool:
    """The running task was asked to stop. A loop that checks this as well as catching `CancelledError` ends
    even when a cancel landing as a database call finishes was lost on the way (Python 3.11's `wait_for`):
    its `await` returned or raised an ordinary error, but the request stays counted."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
