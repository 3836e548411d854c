"""`PgTx`: `bot.store.tx.Tx` on PostgreSQL — the same methods, arguments, results and meaning.

Exactly once across replicas rests on the database, not on a process lock: a decision is an
`UPDATE … WHERE state = expected` whose row count decides (under READ COMMITTED the loser waits for
the winner's commit, re-reads the row and matches nothing); dedup keys are `INSERT … ON CONFLICT`;
audit appends queue on the head row. Where the domain reads and then writes on what it read (a
dedup key's replay, a requester's hourly count), SQLite's one write lock made that atomic; here a
write transaction takes a transaction-scoped advisory lock on that key or requester first, so two
replicas handling the same Slack retry, or the same person's parallel submissions, queue instead of
both slipping through. Adding sessions enqueues their `session_watch` rows in the same
transaction; a session's terminal status removes its row.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from bot.store.audit import COLUMNS, AuditEntry, format_at
from bot.store.pg import audit as pg_audit
from bot.store.pg.locks import lock_key
from bot.workflow.model import SESSION_PREVIEW, SESSION_RUN, Draft, Request, RequestState, SessionInfo

_REQUEST_COLUMNS = (
    "requests.id, requests.state, requests.data, "
    "EXISTS (SELECT 1 FROM sessions WHERE sessions.request_id = requests.id)"
)
_EXCLUDED = {"id", "state", "sessions", "preview_sessions"}


def _request_data(request: Request | Draft) -> str:
    return request.model_dump_json(exclude=_EXCLUDED)


class PgTx:
    def __init__(self, conn: AsyncConnection, *, writable: bool = True) -> None:
        self.conn = conn
        self._writable = writable

    async def _serialise_on(self, name: str) -> None:
        """In a write transaction: wait for any other writer of `name` to finish (released at COMMIT)."""
        if self._writable:
            await self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(f"immybot-slack:{name}"),))

    async def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = await self.conn.execute(sql, params)  # type: ignore[arg-type] - built from constants
        return await cursor.fetchall() if cursor.description else []

    # ---- requests ---------------------------------------------------------------------------

    async def insert_request(self, draft: Draft, now: datetime) -> Request:
        request = Request(id=0, created_at=now, updated_at=now, **draft.model_dump())
        rows = await self._all(
            "INSERT INTO requests (state, requester, created_at, updated_at, data) VALUES (%s, %s, %s, %s, %s) "
            "RETURNING id",
            (request.state.value, request.requester, format_at(now), format_at(now), _request_data(request)),
        )
        return request.model_copy(update={"id": int(rows[0][0])})

    async def get_request(self, request_id: int) -> Request | None:
        rows = await self._requests(f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE id = %s", (request_id,))
        return rows[0] if rows else None

    async def get_request_and_key(
        self, request_id: int, key: str | None, now: datetime
    ) -> tuple[Request | None, str | None]:
        """The request and, when `key` is given, its live dedup result (as `dedup_get`), in one query."""
        if key is not None:
            await self._serialise_on(f"dedup:{key}")
        rows = await self._all(
            f"SELECT (SELECT COALESCE(result, '') FROM dedup WHERE key = %s AND expires_at > %s), "
            f"{_REQUEST_COLUMNS} FROM (SELECT 1) AS one LEFT JOIN requests ON requests.id = %s",
            (key, format_at(now), request_id),
        )
        replayed, rid, state, data, has_sessions = rows[0]
        if rid is None:
            return None, replayed
        sessions = await self._sessions([int(rid)]) if has_sessions else {}
        return self._decode(rid, state, data, sessions), replayed

    async def update_request(self, request: Request, expected: RequestState) -> bool:
        """Compare-and-set: write `request` only if the stored state is still `expected`."""
        cursor = await self.conn.execute(
            "UPDATE requests SET state = %s, updated_at = %s, data = %s WHERE id = %s AND state = %s",
            (
                request.state.value,
                format_at(request.updated_at),
                _request_data(request),
                request.id,
                expected.value,
            ),
        )
        return cursor.rowcount == 1

    async def recent_for(self, user: str, limit: int) -> list[Request]:
        return await self._requests(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE requester = %s ORDER BY id DESC LIMIT %s", (user, limit)
        )

    async def count_requests_since(self, requester: str, since: datetime) -> int:
        """Requests `requester` made at or after `since`, whatever became of them (the hourly limit)."""
        await self._serialise_on(f"rate:{requester}")
        rows = await self._all(
            "SELECT COUNT(*) FROM requests WHERE requester = %s AND created_at >= %s", (requester, format_at(since))
        )
        return int(rows[0][0])

    async def in_states(self, states: tuple[RequestState, ...], limit: int = -1) -> list[Request]:
        return await self._requests(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE state = ANY(%s) ORDER BY id LIMIT %s",
            ([s.value for s in states], None if limit < 0 else limit),  # SQLite's LIMIT -1 is LIMIT NULL here
        )

    async def pending_created_before(self, cutoff: datetime) -> list[Request]:
        return await self._requests(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE state = %s AND created_at < %s ORDER BY id",
            (RequestState.PENDING.value, format_at(cutoff)),
        )

    async def _requests(self, sql: str, params: tuple[Any, ...]) -> list[Request]:
        rows = await self._all(sql, params)
        if not rows:
            return []
        with_sessions = [int(rid) for rid, _, _, has_sessions in rows if has_sessions]
        sessions = await self._sessions(with_sessions) if with_sessions else {}
        return [self._decode(rid, state, data, sessions) for rid, state, data, _ in rows]

    @staticmethod
    def _decode(rid: int, state: str, data: str, sessions: dict[int, list[SessionInfo]]) -> Request:
        fields = json.loads(data)
        attempt = fields.get("attempt", 1)  # the current attempt's sessions only (a retry runs anew)
        current = [s for s in sessions.get(int(rid), []) if s.attempt == attempt]
        # the preview's sessions never reach `sessions`: outcome, summary, status and cancel read only the run's
        return Request.model_validate({**fields, "id": rid, "state": state, "sessions": current,
                                       "preview_sessions": sessions.get(-int(rid), [])})

    # ---- sessions ---------------------------------------------------------------------------

    async def _sessions(self, request_ids: list[int]) -> dict[int, list[SessionInfo]]:
        found: dict[int, list[SessionInfo]] = {}
        rows = await self._all(
            "SELECT request_id, session_id, computer_id, status, already_in_progress, finished_at, attempt, kind "
            "FROM sessions "
            "WHERE request_id = ANY(%s) ORDER BY seq",
            (request_ids,),
        )
        for rid, sid, cid, status, in_progress, finished, attempt, kind in rows:
            found.setdefault(int(rid) if kind != SESSION_PREVIEW else -int(rid), []).append(
                SessionInfo(
                    session_id=sid,
                    computer_id=cid,
                    status=status,
                    already_in_progress=bool(in_progress),
                    finished_at=datetime.fromisoformat(finished) if finished else None,
                    attempt=int(attempt),
                )
            )
        return found

    async def add_sessions(self, request_id: int, sessions: list[SessionInfo], kind: str = SESSION_RUN) -> None:
        async with self.conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO sessions (request_id, session_id, computer_id, status, already_in_progress, "
                "finished_at, attempt, kind) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [
                    (
                        request_id,
                        s.session_id,
                        s.computer_id,
                        s.status,
                        s.already_in_progress,
                        format_at(s.finished_at) if s.finished_at else None,
                        s.attempt,
                        kind,
                    )
                    for s in sessions
                ],
            )
            # The follow-up is enqueued with the sessions, a run's or a preview's: due at once, unowned, for any
            # replica to claim (so a dead replica's preview is finished by another, as its run would be).
            await cursor.executemany(
                "INSERT INTO session_watch (request_id, session_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                [(request_id, s.session_id) for s in sessions if s.finished_at is None],
            )

    async def set_session_status(
        self, request_id: int, session_id: int, status: str, finished_at: datetime | None
    ) -> None:
        await self.conn.execute(
            "UPDATE sessions SET status = %s, finished_at = %s WHERE request_id = %s AND session_id = %s",
            (status, format_at(finished_at) if finished_at else None, request_id, session_id),
        )
        if finished_at is not None:
            await self.conn.execute(
                "DELETE FROM session_watch WHERE request_id = %s AND session_id = %s", (request_id, session_id)
            )

    # ---- dedup ------------------------------------------------------------------------------

    async def dedup_get(self, key: str, now: datetime) -> str | None:
        """The stored result of a live key ('' when it holds none), or None when unseen/expired."""
        await self._serialise_on(f"dedup:{key}")
        rows = await self._all("SELECT result FROM dedup WHERE key = %s AND expires_at > %s", (key, format_at(now)))
        return (rows[0][0] or "") if rows else None

    async def dedup_put(self, key: str, result: str, expires_at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO dedup (key, result, expires_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (key) DO UPDATE SET result = excluded.result, expires_at = excluded.expires_at",
            (key, result, format_at(expires_at)),
        )

    async def claim(self, key: str, now: datetime, expires_at: datetime) -> bool:
        """Insert the key unless a live one exists (an expired one is taken over); True if we got it."""
        rows = await self._all(
            "INSERT INTO dedup (key, result, expires_at) VALUES (%s, '', %s) "
            "ON CONFLICT (key) DO UPDATE SET result = excluded.result, expires_at = excluded.expires_at "
            "WHERE dedup.expires_at <= %s RETURNING key",
            (key, format_at(expires_at), format_at(now)),
        )
        return len(rows) == 1

    async def prune_dedup(self, now: datetime) -> int:
        # a `lease:` row outlives its expiry: a lapsed lease is how recovery finds a dead replica's work
        cursor = await self.conn.execute(
            "DELETE FROM dedup WHERE expires_at <= %s AND NOT starts_with(key, 'lease:')", (format_at(now),)
        )
        return cursor.rowcount

    # ---- audit ------------------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry, at: datetime) -> dict[str, Any]:
        return await pg_audit.append(self.conn, entry, at)

    async def audit_head(self) -> tuple[int, str] | None:
        """The chain head: the newest row's (id, hash), or None for an empty log."""
        found = await self._all("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
        return (int(found[0][0]), str(found[0][1])) if found else None

    async def audit_rows(
        self, *, since: datetime | None, request_id: int | None, user: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        where, params = pg_audit.pg_where(since=format_at(since) if since else None, request_id=request_id, user=user)
        rows = await self._all(f"SELECT {COLUMNS} FROM audit{where} ORDER BY id DESC LIMIT %s", (*params, limit))
        decoded = [pg_audit.pg_decode(values) for values in rows]
        decoded.reverse()
        return decoded
