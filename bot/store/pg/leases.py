"""`PgLeases`: the follower's `SessionLeases` on PostgreSQL's `session_watch` rows (SPEC §9).

One instance per replica, named by `owner` (host:pid:random, unique per process start so a restarted
replica never mistakes a dead one's leases for its own). The clock is the wall clock of the replica:
replicas' clocks must agree to well within a lease (NTP), as for any lease scheme.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.store.pg.store import PgStore
from bot.workflow.leases import Claimed

log = logging.getLogger(__name__)


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class PgLeases:
    shared = True

    def __init__(
        self,
        store: PgStore,
        *,
        lease_seconds: float,
        owner: str | None = None,
        batch: int = 100,
        on_takeover: Callable[[int], None] | None = None,
        on_recovered: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self.owner = owner or replica_name()
        self.lease_seconds = lease_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._batch = batch
        self._on_takeover = on_takeover
        self._on_recovered = on_recovered
        self._clock = clock

    async def claim_due(self) -> list[Claimed]:
        claims = await self._store.claim_due(self.owner, self._clock(), self._lease, self._batch)
        taken = sum(1 for c in claims if c.taken_over_from)
        if taken and self._on_takeover is not None:
            self._on_takeover(taken)
        return [Claimed(c.request_id, c.session_id, c.taken_over_from, c.preview) for c in claims]

    async def renew(self) -> set[tuple[int, int]]:
        return await self._store.renew(self.owner, self._clock(), self._lease)

    async def reschedule(self, request_id: int, session_id: int, next_poll_at: datetime) -> None:
        await self._store.reschedule(self.owner, request_id, session_id, next_poll_at)

    async def release(self) -> None:
        await self._store.release(self.owner)

    async def may_show(self, request_id: int) -> bool:
        holder = await self._store.request_holder(request_id, self._clock())
        return holder is None or holder == self.owner

    async def held(self) -> int:
        return len(await self._store.leases(self.owner, self._clock()))

    async def hold(self, key: str) -> bool:
        held, previous = await self._store.take(key, self.owner, self._clock(), self._lease)
        if previous is not None:  # its holder died mid-work (or stalled a whole lease): resumed here
            work = key.split(":")[1] if key.count(":") >= 2 else key
            log.warning("took %s over from %s, whose lease ran out", key, previous)
            if self._on_recovered is not None:
                self._on_recovered(work)
        return held

    async def keep(self, key: str) -> bool:
        return await self._store.keep(key, self.owner, self._clock(), self._lease)

    async def let_go(self, key: str) -> None:
        await self._store.let_go(key, self.owner)

    async def lapsed(self, prefix: str) -> list[str]:
        return await self._store.lapsed(prefix, self._clock())
