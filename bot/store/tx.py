"""Operations inside one transaction: requests, their sessions, dedup keys and audit appends.

A `Tx` only exists inside `Store.write()` / `Store.read()`, so every method here runs under the
transaction the caller opened; none commits by itself.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiosqlite

from bot.store import audit
from bot.store.audit import AuditEntry, format_at
from bot.workflow.model import SESSION_PREVIEW, SESSION_RUN, Draft, Request, RequestState, SessionInfo

_REQUEST_COLUMNS = "id, state, data, EXISTS (SELECT 1 FROM sessions WHERE sessions.request_id = requests.id)"
_EXCLUDED = {"id", "state", "sessions", "preview_sessions"}


def _request_data(request: Request | Draft) -> str:
    return request.model_dump_json(exclude=_EXCLUDED)


class Tx:
    def __init__(self, conn: aiosqlite.Connection, head: audit.ChainHead | None = None) -> None:
        self.conn = conn
        self._head = head

    # ---- requests ---------------------------------------------------------------------------

    async def insert_request(self, draft: Draft, now: datetime) -> Request:
        request = Request(id=0, created_at=now, updated_at=now, **draft.model_dump())
        rows = await self.conn.execute_fetchall(
            "INSERT INTO requests (state, requester, created_at, updated_at, data) VALUES (?, ?, ?, ?, ?) RETURNING id",
            (request.state.value, request.requester, format_at(now), format_at(now), _request_data(request)),
        )
        return request.model_copy(update={"id": int(next(iter(rows))[0])})

    async def get_request(self, request_id: int) -> Request | None:
        rows = await self._requests(f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE id = ?", (request_id,))
        return rows[0] if rows else None

    async def get_request_and_key(
        self, request_id: int, key: str | None, now: datetime
    ) -> tuple[Request | None, str | None]:
        """The request and, when `key` is given, its live dedup result (as `dedup_get`), in one query."""
        rows = list(
            await self.conn.execute_fetchall(
                f"SELECT (SELECT COALESCE(result, '') FROM dedup WHERE key = ? AND expires_at > ?), "
                f"{_REQUEST_COLUMNS} FROM (SELECT 1) LEFT JOIN requests ON requests.id = ?",
                (key, format_at(now), request_id),
            )
        )
        replayed, rid, state, data, has_sessions = rows[0]
        if rid is None:
            return None, replayed
        sessions = await self._sessions([int(rid)]) if has_sessions else {}
        return self._decode(rid, state, data, sessions), replayed

    async def update_request(self, request: Request, expected: RequestState) -> bool:
        """Compare-and-set: write `request` only if the stored state is still `expected`."""
        rows = await self.conn.execute_fetchall(
            "UPDATE requests SET state = ?, updated_at = ?, data = ? WHERE id = ? AND state = ? RETURNING id",
            (
                request.state.value,
                format_at(request.updated_at),
                _request_data(request),
                request.id,
                expected.value,
            ),
        )
        return len(list(rows)) == 1

    async def recent_for(self, user: str, limit: int) -> list[Request]:
        return await self._requests(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE requester = ? ORDER BY id DESC LIMIT ?", (user, limit)
        )

    async def count_requests_since(self, requester: str, since: datetime) -> int:
        """Requests `requester` made at or after `since`, whatever became of them (the hourly limit)."""
        rows = await self.conn.execute_fetchall(
            "SELECT COUNT(*) FROM requests WHERE requester = ? AND created_at >= ?", (requester, format_at(since))
        )
        return int(next(iter(rows))[0])

    async def in_states(self, states: tuple[RequestState, ...], limit: int = -1) -> list[Request]:
        marks = ", ".join("?" for _ in states)
        return await self._requests(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE state IN ({marks}) ORDER BY id LIMIT ?",
            (*[s.value for s in states], limit),
        )

    async def pending_created_before(self, cutoff: datetime) -> list[Request]:
        return await self._requests(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE state = ? AND created_at < ? ORDER BY id",
            (RequestState.PENDING.value, format_at(cutoff)),
        )

    async def _requests(self, sql: str, params: tuple[Any, ...]) -> list[Request]:
        rows = list(await self.conn.execute_fetchall(sql, params))
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
        marks = ", ".join("?" for _ in request_ids)
        found: dict[int, list[SessionInfo]] = {}
        rows = await self.conn.execute_fetchall(
            "SELECT request_id, session_id, computer_id, status, already_in_progress, finished_at, attempt, kind "
            "FROM sessions "
            f"WHERE request_id IN ({marks}) ORDER BY rowid",
            request_ids,
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
        await self.conn.executemany(
            "INSERT OR IGNORE INTO sessions (request_id, session_id, computer_id, status, already_in_progress, "
            "finished_at, attempt, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    request_id,
                    s.session_id,
                    s.computer_id,
                    s.status,
                    int(s.already_in_progress),
                    format_at(s.finished_at) if s.finished_at else None,
                    s.attempt,
                    kind,
                )
                for s in sessions
            ],
        )

    async def set_session_status(
        self, request_id: int, session_id: int, status: str, finished_at: datetime | None
    ) -> None:
        await self.conn.execute(
            "UPDATE sessions SET status = ?, finished_at = ? WHERE request_id = ? AND session_id = ?",
            (status, format_at(finished_at) if finished_at else None, request_id, session_id),
        )

    # ---- dedup ------------------------------------------------------------------------------

    async def dedup_get(self, key: str, now: datetime) -> str | None:
        """The stored result of a live key ('' when it holds none), or None when unseen/expired."""
        rows = list(
            await self.conn.execute_fetchall(
                "SELECT result FROM dedup WHERE key = ? AND expires_at > ?", (key, format_at(now))
            )
        )
        return (rows[0][0] or "") if rows else None

    async def dedup_put(self, key: str, result: str, expires_at: datetime) -> None:
        await self.conn.execute_fetchall(
            "INSERT OR REPLACE INTO dedup (key, result, expires_at) VALUES (?, ?, ?)",
            (key, result, format_at(expires_at)),
        )

    async def claim(self, key: str, now: datetime, expires_at: datetime) -> bool:
        """Insert the key unless a live one exists (an expired one is taken over); True if we got it."""
        rows = await self.conn.execute_fetchall(
            "INSERT INTO dedup (key, result, expires_at) VALUES (?, '', ?) "
            "ON CONFLICT (key) DO UPDATE SET result = excluded.result, expires_at = excluded.expires_at "
            "WHERE dedup.expires_at <= ? RETURNING key",
            (key, format_at(expires_at), format_at(now)),
        )
        return len(list(rows)) == 1

    async def prune_dedup(self, now: datetime) -> int:
        cursor = await self.conn.execute("DELETE FROM dedup WHERE expires_at <= ?", (format_at(now),))
        count = cursor.rowcount
        await cursor.close()
        return count

    # ---- audit ------------------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry, at: datetime) -> dict[str, Any]:
        return await audit.append(self.conn, entry, at, self._head)

    async def audit_head(self) -> tuple[int, str] | None:
        """The chain head: the newest row's (id, hash), or None for an empty log."""
        found = list(await self.conn.execute_fetchall("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"))
        return (int(found[0][0]), str(found[0][1])) if found else None

    async def audit_rows(
        self, *, since: datetime | None, request_id: int | None, user: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        where, params = audit.where_clause(since=format_at(since) if since else None, request_id=request_id, user=user)
        sql = f"SELECT {audit.COLUMNS} FROM audit{where} ORDER BY id DESC LIMIT ?"
        async with self.conn.execute(sql, (*params, -1 if limit is None else limit)) as cursor:
            rows = [audit.decode(values) for values in await cursor.fetchall()]
        rows.reverse()
        return rows
