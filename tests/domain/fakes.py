"""In-memory fakes of the domain's outward ports, for fast tests of the starter, follower and lifecycle.

They implement `bot.workflow.ports` (SessionsPort, Reporter, RequestStore) from what the ports promise, not
from any adapter: a test scripts what ImmyBot answers and reads back what people would have been told.
`InMemoryStore` keeps SPEC §4's hash-chained audit log itself (it imports nothing from `bot.store`), and
tests/store runs the store suite on it next to SQLite and PostgreSQL to keep it honest."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.workflow.errors import BackendRejected, BackendUnavailable
from bot.workflow.lifecycle import Lifecycle
from bot.workflow.model import (
    SESSION_PREVIEW,
    SESSION_RUN,
    AuditEntry,
    Draft,
    Request,
    RequestState,
    SessionInfo,
    SessionResult,
    Software,
)
from bot.workflow.ports import SessionsPort


@dataclass
class FakeSessions:
    """ImmyBot's sessions: each computer's statuses are played in order, the last one repeats."""

    scripts: dict[int, list[str]] = field(default_factory=dict)
    start_failures: list[Exception] = field(default_factory=list)  # raised by the next start() calls
    refuse_cancel: set[int] = field(default_factory=set)
    started: dict[int, SessionInfo] = field(default_factory=dict)  # session id → session
    groups: dict[int, str] = field(default_factory=dict)  # session id → session group id
    start_calls: int = 0
    cancelled: list[int] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _played: dict[int, int] = field(default_factory=dict)

    async def start(self, request: Request, computer_ids: Sequence[int], group_id: str) -> list[SessionInfo]:
        self.start_calls += 1
        if self.start_failures:
            raise self.start_failures.pop(0)
        out = []
        for computer_id in computer_ids:
            session = SessionInfo(session_id=next(self._ids), computer_id=computer_id)
            self.started[session.session_id] = session
            self.groups[session.session_id] = group_id
            out.append(session)
        return out

    async def find(self, computer_id: int, group_id: str) -> list[SessionInfo]:
        return [s for i, s in self.started.items() if s.computer_id == computer_id and self.groups[i] == group_id]

    async def status(self, session_id: int) -> str:
        session = self.started[session_id]
        if session_id in self.cancelled:
            return "Cancelled"
        script = self.scripts.get(session.computer_id or -1, ["Passed"])
        n = self._played.get(session_id, 0)
        self._played[session_id] = n + 1
        return script[min(n, len(script) - 1)]

    async def result(self, session: SessionInfo, software: Software, computer_name: str) -> SessionResult:
        return SessionResult(session_id=session.session_id, computer_id=session.computer_id,
                             computer_name=computer_name, status=session.status)

    async def cancel(self, session_id: int) -> None:
        if session_id in self.refuse_cancel:
            raise BackendRejected(f"session {session_id} cannot be cancelled")
        self.cancelled.append(session_id)


@dataclass
class RecordingReporter:
    """The Reporter port: remembers every step it was told, in order."""

    steps: list[tuple[str, int]] = field(default_factory=list)
    finals: dict[int, list[SessionResult]] = field(default_factory=dict)
    unavailable: list[int] = field(default_factory=list)
    stray: list[tuple[int, list[int], list[int]]] = field(default_factory=list)
    final_seen: asyncio.Event = field(default_factory=asyncio.Event)

    async def progress(self, request: Request, *, immybot_unavailable: bool = False) -> None:
        self.steps.append(("progress", request.id))
        if immybot_unavailable:
            self.unavailable.append(request.id)

    async def start_cancelled(self, request: Request, cancelled: list[int], not_cancelled: list[int]) -> None:
        self.steps.append(("start_cancelled", request.id))
        self.stray.append((request.id, cancelled, not_cancelled))

    async def final(self, request: Request, results: list[SessionResult]) -> None:
        self.steps.append(("final", request.id))
        self.finals[request.id] = results
        self.final_seen.set()

    async def resume_summaries(self, lifecycle: Lifecycle, sessions: SessionsPort) -> None:
        self.steps.append(("resume_summaries", 0))

    async def recover_summary(self, request: Request, sessions: SessionsPort) -> None:
        self.steps.append(("recover_summary", request.id))


UNAVAILABLE = BackendUnavailable("ImmyBot is down (a test)")


# ---- the store port ------------------------------------------------------------------------------

GENESIS_HASH = "0" * 64  # SPEC §4: the first row's prev_hash
AUDIT_FIELDS = (
    "id", "at", "request_id", "event", "actor", "requester", "software", "action", "targets", "reason",
    "decision_reason", "immybot_session_ids", "outcome", "prev_hash", "hash",
)
_BARE_FIELDS = ("event", "action", "actor", "requester")  # exported unquoted: no separators allowed
_SEPARATORS = frozenset(',"\r\n')
_NOT_DATA = {"id", "state", "sessions", "preview_sessions"}


def _utc_text(at: datetime) -> str:
    """SPEC §4's `at`: UTC ISO 8601, fixed width, so comparing texts compares times (as the adapters do)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class _StoredSession:
    kind: str
    session: SessionInfo


@dataclass
class _State:
    """Everything durable. Rows are replaced, never mutated, so a one-level copy is a snapshot."""

    requests: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (state, the rest as JSON)
    created: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (requester, created_at text)
    sessions: dict[int, list[_StoredSession]] = field(default_factory=dict)
    dedup: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (result, expires_at text)
    audit: list[str] = field(default_factory=list)  # canonical JSON of each row, in id order
    last_id: int = 0

    def snapshot(self) -> _State:
        return _State(dict(self.requests), dict(self.created),
                      {rid: list(rows) for rid, rows in self.sessions.items()},
                      dict(self.dedup), list(self.audit), self.last_id)


class InMemoryTx:
    """One transaction of `InMemoryStore` (the port's StoreTx). Requests go in and out as JSON, as they
    do through a database, so a caller's later edits to an object never reach the store."""

    def __init__(self, state: _State, *, writable: bool = True) -> None:
        self._state = state
        self._writable = writable

    @property
    def _s(self) -> _State:
        return self._state

    @property
    def _w(self) -> _State:
        """The state, to change it: refused in a read transaction (PostgreSQL's are READ ONLY)."""
        if not self._writable:
            raise PermissionError("a write inside a read transaction")
        return self._state

    async def insert_request(self, draft: Draft, now: datetime) -> Request:
        self._w.last_id += 1
        request = Request(id=self._w.last_id, created_at=now, updated_at=now, **draft.model_dump())
        self._w.requests[request.id] = (request.state.value, request.model_dump_json(exclude=_NOT_DATA))
        self._w.created[request.id] = (request.requester, _utc_text(now))
        return self._load(request.id)

    async def get_request(self, request_id: int) -> Request | None:
        return self._load(request_id) if request_id in self._s.requests else None

    async def get_request_and_key(
        self, request_id: int, key: str | None, now: datetime
    ) -> tuple[Request | None, str | None]:
        replayed = await self.dedup_get(key, now) if key is not None else None
        return await self.get_request(request_id), replayed

    async def update_request(self, request: Request, expected: RequestState) -> bool:
        stored = self._w.requests.get(request.id)
        if stored is None or stored[0] != expected.value:
            return False
        self._w.requests[request.id] = (request.state.value, request.model_dump_json(exclude=_NOT_DATA))
        return True

    async def recent_for(self, user: str, limit: int) -> list[Request]:
        ids = sorted((rid for rid, (who, _) in self._s.created.items() if who == user), reverse=True)
        return [self._load(rid) for rid in (ids if limit < 0 else ids[:limit])]

    async def count_requests_since(self, requester: str, since: datetime) -> int:
        cutoff = _utc_text(since)
        return sum(1 for who, at in self._s.created.values() if who == requester and at >= cutoff)

    async def in_states(self, states: tuple[RequestState, ...], limit: int = -1) -> list[Request]:
        wanted = {state.value for state in states}
        ids = sorted(rid for rid, (state, _) in self._s.requests.items() if state in wanted)
        return [self._load(rid) for rid in (ids if limit < 0 else ids[:limit])]

    async def pending_created_before(self, cutoff: datetime) -> list[Request]:
        before = _utc_text(cutoff)
        return [self._load(rid) for rid in sorted(self._s.requests)
                if self._s.requests[rid][0] == RequestState.PENDING.value and self._s.created[rid][1] < before]

    async def add_sessions(self, request_id: int, sessions: list[SessionInfo], kind: str = SESSION_RUN) -> None:
        if request_id not in self._w.requests:
            raise LookupError(f"no request {request_id}")  # the adapters' foreign key
        rows = self._w.sessions.setdefault(request_id, [])
        known = {row.session.session_id for row in rows}
        for session in sessions:
            if session.session_id not in known:  # one row per (request, session), as the primary key
                known.add(session.session_id)
                rows.append(_StoredSession(kind, session.model_copy()))

    async def set_session_status(
        self, request_id: int, session_id: int, status: str, finished_at: datetime | None
    ) -> None:
        self._w.sessions[request_id] = [
            _StoredSession(row.kind, row.session.model_copy(update={"status": status, "finished_at": finished_at}))
            if row.session.session_id == session_id else row
            for row in self._w.sessions.get(request_id, [])
        ]

    async def dedup_get(self, key: str, now: datetime) -> str | None:
        found = self._s.dedup.get(key)
        return found[0] if found is not None and found[1] > _utc_text(now) else None

    async def dedup_put(self, key: str, result: str, expires_at: datetime) -> None:
        self._w.dedup[key] = (result, _utc_text(expires_at))

    async def claim(self, key: str, now: datetime, expires_at: datetime) -> bool:
        if await self.dedup_get(key, now) is not None:
            return False
        self._w.dedup[key] = ("", _utc_text(expires_at))
        return True

    async def prune_dedup(self, now: datetime) -> int:
        dead = [key for key, (_, expires) in self._w.dedup.items() if expires <= _utc_text(now)]
        for key in dead:
            del self._w.dedup[key]
        return len(dead)

    async def append_audit(self, entry: AuditEntry, at: datetime) -> dict[str, Any]:
        head = await self.audit_head()
        row: dict[str, Any] = {name: getattr(entry, name, None) for name in AUDIT_FIELDS}
        row.update(id=(head[0] if head else 0) + 1, at=_utc_text(at), prev_hash=head[1] if head else GENESIS_HASH)
        row.pop("hash")
        for name in _BARE_FIELDS:
            if isinstance(row[name], str) and not _SEPARATORS.isdisjoint(row[name]):
                raise ValueError(f"audit {name} {row[name]!r} may not contain a comma, a quote or a line break")
        body = _canonical(row)
        row["hash"] = hashlib.sha256((row["prev_hash"] + body).encode("utf-8")).hexdigest()
        self._w.audit.append(_canonical(row))
        return json.loads(self._w.audit[-1])

    async def audit_head(self) -> tuple[int, str] | None:
        if not self._s.audit:
            return None
        row = json.loads(self._s.audit[-1])
        return int(row["id"]), str(row["hash"])

    async def audit_rows(
        self, *, since: datetime | None, request_id: int | None, user: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        rows = [json.loads(text) for text in self._s.audit]
        if since is not None:
            rows = [row for row in rows if row["at"] >= _utc_text(since)]
        if request_id is not None:
            rows = [row for row in rows if row["request_id"] == request_id]
        if user is not None:
            rows = [row for row in rows if user in (row["actor"], row["requester"])]
        return rows if limit is None or limit < 0 else rows[-limit:] if limit else []

    def _load(self, request_id: int) -> Request:
        state, data = self._s.requests[request_id]
        fields = json.loads(data)
        rows = self._s.sessions.get(request_id, [])
        attempt = fields.get("attempt", 1)  # the current attempt's run sessions only (a retry runs anew)
        return Request.model_validate({
            **fields, "id": request_id, "state": state,
            "sessions": [r.session for r in rows if r.kind != SESSION_PREVIEW and r.session.attempt == attempt],
            "preview_sessions": [r.session for r in rows if r.kind == SESSION_PREVIEW],
        })


class InMemoryStore:
    """The domain's RequestStore in memory: one transaction at a time; a write that raises leaves no
    trace; a read sees committed state only and keeps nothing it may have written.

    `sibling()` opens a second store on the same state, as a second process would open the same file."""

    def __init__(self, state: _State | None = None, lock: asyncio.Lock | None = None) -> None:
        self._state = state or _State()
        self._lock = lock or asyncio.Lock()

    def sibling(self) -> InMemoryStore:
        return InMemoryStore(self._state, self._lock)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[InMemoryTx]:
        async with self._lock:
            working = self._state.snapshot()
            yield InMemoryTx(working)
            self._commit(working)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[InMemoryTx]:
        async with self._lock:
            yield InMemoryTx(self._state, writable=False)

    def _commit(self, working: _State) -> None:
        self._state.__dict__.update(working.__dict__)

    def audit_log(self) -> list[dict[str, Any]]:
        """Every audit row as stored, oldest first (what `audit export --format jsonl` would print)."""
        return [json.loads(text) for text in self._state.audit]

    async def close(self) -> None:
        """Nothing to release (the adapters close a connection)."""
