"""`PgStore`: `bot.store.Store` on PostgreSQL (psycopg 3, async pool), for several replicas at once.

`write()` is a READ COMMITTED transaction on a pooled connection: correctness across replicas comes
from the statements (compare-and-set, ON CONFLICT, the audit head row lock, per-key advisory locks
where the domain reads then writes: see `PgTx`), not from one lock around every write as on SQLite.
`read()` is a READ ONLY REPEATABLE READ snapshot. Connections run with
`prepare_threshold=None` (no server-side prepared statements) and only transaction-scoped advisory
locks, so a transaction-pooling PgBouncer in front is fine.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from bot.store.audit import format_at
from bot.store.pg.locks import lock_key
from bot.store.pg.schema import LATEST_VERSION, current_version, migrate
from bot.store.pg.tx import PgTx
from bot.workflow.model import SESSION_PREVIEW

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchClaim:
    """A session this replica now holds: follow it until `lease_until` (renew before then)."""

    request_id: int
    session_id: int
    next_poll_at: datetime
    lease_until: datetime
    taken_over_from: str | None  # another replica whose lease had run out (a takeover), else None
    preview: bool = False  # a preview's detection-only session (SPEC §8), not the run's


async def _configure(conn: AsyncConnection) -> None:
    await conn.set_autocommit(True)


class PgStore:
    """Durable state in PostgreSQL. Open with `await PgStore.open(url)`; use `write()` / `read()`."""

    backend = "postgresql"

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @classmethod
    async def open(
        cls, url: str, *, min_size: int = 1, max_size: int = 10, migrate_to: int | None = LATEST_VERSION
    ) -> Self:
        pool = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"prepare_threshold": None},
            configure=_configure,
            open=False,
            name="immybot-slack",
        )
        await pool.open(wait=True, timeout=30)
        try:
            if migrate_to is not None:
                async with pool.connection() as conn:
                    await migrate(conn, migrate_to)
        except BaseException:
            await pool.close()
            raise
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[PgTx]:
        """BEGIN … COMMIT on one pooled connection; rolled back if the block raises."""
        async with self._pool.connection() as conn, conn.transaction():
            yield PgTx(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[PgTx]:
        """A consistent read-only snapshot (never sees another transaction's uncommitted writes)."""
        async with self._pool.connection() as conn, conn.transaction(force_rollback=True):
            await conn.execute("SET TRANSACTION READ ONLY, ISOLATION LEVEL REPEATABLE READ")
            yield PgTx(conn, writable=False)

    async def schema_version(self) -> int:
        async with self._pool.connection() as conn:
            return await current_version(conn)

    async def server_version(self) -> str:
        async with self._pool.connection() as conn:
            return str(conn.info.server_version)

    # ---- sessions in flight under leases (SPEC §9) -------------------------------------------

    async def claim_due(self, owner: str, now: datetime, lease: timedelta, limit: int = 100) -> list[WatchClaim]:
        """Take up to `limit` due sessions that nobody holds (or whose lease ran out, or that `owner`
        already holds) and lease them to `owner` until `now + lease`. Rows another replica is claiming
        at this very moment are skipped, never waited for (SKIP LOCKED)."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "UPDATE session_watch AS w SET owner = %(owner)s, lease_until = %(until)s "
                "FROM (SELECT request_id, session_id, owner, lease_until FROM session_watch "
                "      WHERE next_poll_at <= %(now)s "
                "        AND (owner IS NULL OR owner = %(owner)s OR lease_until <= %(now)s) "
                "      ORDER BY next_poll_at, request_id, session_id LIMIT %(limit)s "
                "      FOR UPDATE SKIP LOCKED) AS due "
                "WHERE w.request_id = due.request_id AND w.session_id = due.session_id "
                "RETURNING w.request_id, w.session_id, w.next_poll_at, w.lease_until, due.owner, "
                "  (SELECT s.kind FROM sessions AS s "
                "   WHERE s.request_id = w.request_id AND s.session_id = w.session_id)",
                {"owner": owner, "now": now, "until": now + lease, "limit": limit},
            )
            rows = await cursor.fetchall()
        claims = [
            WatchClaim(int(rid), int(sid), due_at, until, previous if previous not in (None, owner) else None,
                       kind == SESSION_PREVIEW)
            for rid, sid, due_at, until, previous, kind in rows
        ]
        for claim in claims:
            if claim.taken_over_from:
                log.info(
                    "session lease taken over",
                    extra={
                        "request_id": claim.request_id,
                        "session_id": claim.session_id,
                        "from": claim.taken_over_from,
                    },
                )
        return sorted(claims, key=lambda c: (c.request_id, c.session_id))

    async def renew(self, owner: str, now: datetime, lease: timedelta) -> set[tuple[int, int]]:
        """Extend every lease `owner` still holds; returns the (request_id, session_id) pairs it holds.
        A pair missing from the answer was taken over (or finished): stop following it."""
        rows = await self._fetch(
            "UPDATE session_watch SET lease_until = %s WHERE owner = %s AND lease_until > %s "
            "RETURNING request_id, session_id",
            (now + lease, owner, now),
        )
        return {(int(r), int(s)) for r, s in rows}

    async def reschedule(self, owner: str, request_id: int, session_id: int, next_poll_at: datetime) -> bool:
        """Set the next poll of a session `owner` holds; False when it no longer holds it."""
        rows = await self._fetch(
            "UPDATE session_watch SET next_poll_at = %s WHERE request_id = %s AND session_id = %s AND owner = %s "
            "RETURNING 1",
            (next_poll_at, request_id, session_id, owner),
        )
        return bool(rows)

    async def release(self, owner: str) -> int:
        """Give back every lease `owner` holds (clean shutdown): another replica claims them at once."""
        rows = await self._fetch(
            "UPDATE session_watch SET owner = NULL, lease_until = NULL WHERE owner = %s RETURNING 1", (owner,)
        )
        return len(rows)

    async def finish(self, request_id: int, session_id: int) -> None:
        """Stop following a session (also done by `set_session_status` with a finish time)."""
        await self._fetch(
            "DELETE FROM session_watch WHERE request_id = %s AND session_id = %s RETURNING 1", (request_id, session_id)
        )

    async def leases(self, owner: str, now: datetime) -> list[tuple[int, int, datetime]]:
        """(request_id, session_id, lease_until) of the live leases `owner` holds (for /healthz)."""
        rows = await self._fetch(
            "SELECT request_id, session_id, lease_until FROM session_watch WHERE owner = %s AND lease_until > %s "
            "ORDER BY request_id, session_id",
            (owner, now),
        )
        return [(int(r), int(s), until) for r, s, until in rows]

    async def request_holder(self, request_id: int, now: datetime) -> str | None:
        """The replica holding a live lease on any session of this request (it alone edits the status)."""
        rows = await self._fetch(
            "SELECT owner FROM session_watch WHERE request_id = %s AND lease_until > %s ORDER BY lease_until DESC "
            "LIMIT 1",
            (request_id, now),
        )
        return str(rows[0][0]) if rows else None

    # ---- leases on one piece of work: a run's start, a summary, a preview's start -------------
    # Rows in `dedup` (no migration): `result` names the holder, `expires_at` is its lease; the prune
    # leaves `lease:` rows alone (`PgTx.prune_dedup`), so a dead holder's lease stays to be found.

    async def hold(self, key: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Take `key` for `owner` until `now + lease` unless a live lease on it exists — `owner`'s own too, so
        two tasks of one replica never do the same work either."""
        return (await self.take(key, owner, now, lease))[0]

    async def take(self, key: str, owner: str, now: datetime, lease: timedelta) -> tuple[bool, str | None]:
        """`hold`, and the owner whose lease ran out when this took it over (None: it was free or ours)."""
        rows = await self._fetch(
            "WITH before AS (SELECT result FROM dedup WHERE key = %(key)s) "
            "INSERT INTO dedup (key, result, expires_at) VALUES (%(key)s, %(owner)s, %(until)s) "
            "ON CONFLICT (key) DO UPDATE SET result = excluded.result, expires_at = excluded.expires_at "
            "WHERE dedup.expires_at <= %(now)s RETURNING (SELECT result FROM before)",
            {"key": key, "owner": owner, "until": format_at(now + lease), "now": format_at(now)},
        )
        if not rows:
            return False, None
        previous = rows[0][0]
        return True, (str(previous) if previous not in (None, owner) else None)

    async def keep(self, key: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Extend `owner`'s lease on `key`; False when another owner took it (or it was let go)."""
        rows = await self._fetch(
            "UPDATE dedup SET expires_at = %s WHERE key = %s AND result = %s RETURNING 1",
            (format_at(now + lease), key, owner),
        )
        return bool(rows)

    async def let_go(self, key: str, owner: str) -> None:
        await self._fetch("DELETE FROM dedup WHERE key = %s AND result = %s RETURNING 1", (key, owner))

    async def lapsed(self, prefix: str, now: datetime) -> list[str]:
        """Keys under `prefix` whose lease ran out: their holder died mid-work (it lets go when done)."""
        rows = await self._fetch(
            "SELECT key FROM dedup WHERE starts_with(key, %s) AND expires_at <= %s ORDER BY key",
            (prefix, format_at(now)),
        )
        return [str(row[0]) for row in rows]

    # ---- singletons (expiry, reminders, checkpoints) ----------------------------------------

    @asynccontextmanager
    async def singleton(self, name: str) -> AsyncIterator[bool]:
        """`async with store.singleton("expiry") as mine:` — `mine` is True on exactly one replica at a
        time; the lock is transaction-scoped and ends with the block (PgBouncer-safe)."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (lock_key(f"immybot-slack:{name}"),))
            row = await cursor.fetchone()
            yield bool(row and row[0])

    async def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(sql, params)  # type: ignore[arg-type] - constant SQL
            return await cursor.fetchall()


__all__ = ["LATEST_VERSION", "PgStore", "PgTx", "WatchClaim"]
