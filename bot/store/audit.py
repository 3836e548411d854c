"""The append-only, hash-chained audit log (SPEC §4).

`hash = sha256(prev_hash + canonical_json(row without hash))`, canonical JSON being keys sorted,
no spaces, UTF-8. The first row's `prev_hash` is 64 zeros. Rows are only ever appended, inside
the caller's `BEGIN IMMEDIATE` transaction, reading the chain's head in that same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bot.safe_csv import csv_text
from bot.workflow.model import AuditEntry  # the domain's record; the store writes it down

GENESIS_HASH = "0" * 64
FIELDS = (
    "id",
    "at",
    "request_id",
    "event",
    "actor",
    "requester",
    "software",
    "action",
    "targets",
    "reason",
    "decision_reason",
    "immybot_session_ids",
    "outcome",
    "prev_hash",
    "hash",
)
JSON_FIELDS = frozenset({"software", "targets", "immybot_session_ids"})
# Values from fixed alphabets (numbers, our timestamps, enum names, Slack IDs, hex digests): `build_row`
# refuses a comma, quote or line break in them, so they read the same in every export.
_CSV_SPECIAL = frozenset(',"\r\n')
COLUMNS = ", ".join(FIELDS)
BATCH = 2000




def format_at(at: datetime) -> str:
    """UTC ISO 8601 with fixed width (microseconds, `Z`), so text order is time order."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_since(text: str) -> str:
    """An ISO 8601 date or time (naive = UTC) as the stored `at` text, for `at >= ?` filters."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        return format_at(datetime.fromisoformat(value))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or time (e.g. 2026-01-31 or 2026-01-31T14:00Z)") from None


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(row: dict[str, Any]) -> str:
    """`hash` of a SPEC-shaped row: sha256(prev_hash + canonical JSON of every field but `hash`)."""
    body = {key: value for key, value in row.items() if key != "hash"}
    return hashlib.sha256((row["prev_hash"] + canonical_json(body)).encode("utf-8")).hexdigest()


def _dump(value: Any) -> str | None:
    return None if value is None else canonical_json(value)


def build_row(entry: AuditEntry, row_id: int, at: datetime, prev_hash: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": row_id,
        "at": format_at(at),
        "request_id": entry.request_id,
        "event": entry.event,
        "actor": entry.actor,
        "requester": entry.requester,
        "software": entry.software,
        "action": entry.action,
        "targets": entry.targets,
        "reason": entry.reason,
        "decision_reason": entry.decision_reason,
        "immybot_session_ids": entry.immybot_session_ids,
        "outcome": entry.outcome,
        "prev_hash": prev_hash,
    }
    for name in ("event", "action", "actor", "requester"):
        value = row[name]
        if isinstance(value, str) and not _CSV_SPECIAL.isdisjoint(value):
            raise ValueError(f"audit {name} {value!r} may not contain a comma, a quote or a line break")
    row["hash"] = row_hash(row)
    return row


def db_values(row: dict[str, Any]) -> tuple[Any, ...]:
    """The row as column values (nested values as canonical JSON text)."""
    return tuple(_dump(row[name]) if name in JSON_FIELDS else row[name] for name in FIELDS)


def audit_csv(rows: list[dict[str, Any]]) -> str:
    """The same cells as `audit export --format csv` (nested values as canonical JSON), defused."""
    return csv_text(FIELDS, map(db_values, rows))


INSERT_SQL = f"INSERT INTO audit ({COLUMNS}) VALUES ({', '.join('?' for _ in FIELDS)})"


_HEAD_SQL = "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"
# Insert only if the chain's head (read in this same statement, under the write lock) is the one we
# chained to; otherwise nothing is inserted and the caller reads the head and tries again.
_GUARDED_INSERT_SQL = (
    f"INSERT INTO audit ({COLUMNS}) SELECT {', '.join('?' for _ in FIELDS)} "
    "WHERE (SELECT id || ':' || hash FROM audit ORDER BY id DESC LIMIT 1) IS ? RETURNING id"
)


class ChainHead:
    """The last appended (id, hash) as this connection saw it: saves a read per append.

    Only a hint: every append checks it against the table inside its transaction, so a row
    appended by another process (or a rolled-back append) just costs one extra read.
    """

    def __init__(self) -> None:
        self.known: tuple[int, str] | None = None


async def append(
    conn: aiosqlite.Connection, entry: AuditEntry, at: datetime, head: ChainHead | None = None
) -> dict[str, Any]:
    """Append one row. The caller holds the write lock (`BEGIN IMMEDIATE`) and commits."""
    if head is not None and head.known is not None:
        last_id, last_hash = head.known
        row = build_row(entry, last_id + 1, at, last_hash)
        expected = f"{last_id}:{last_hash}" if last_id else None
        if list(await conn.execute_fetchall(_GUARDED_INSERT_SQL, (*db_values(row), expected))):
            head.known = (row["id"], row["hash"])
            return row
    found = list(await conn.execute_fetchall(_HEAD_SQL))
    row_id, prev = (int(found[0][0]) + 1, str(found[0][1])) if found else (1, GENESIS_HASH)
    row = build_row(entry, row_id, at, prev)
    await conn.execute_fetchall(INSERT_SQL, db_values(row))
    if head is not None:
        head.known = (row["id"], row["hash"])
    return row


def decode(values: Iterable[Any]) -> dict[str, Any]:
    """A stored row back into its SPEC shape (nested values parsed)."""
    row = dict(zip(FIELDS, values, strict=True))
    for name in JSON_FIELDS:
        if row[name] is not None:
            row[name] = json.loads(row[name])
    return row


def where_clause(
    *, since: str | None = None, request_id: int | None = None, user: str | None = None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("at >= ?")
        params.append(since)
    if request_id is not None:
        clauses.append("request_id = ?")
        params.append(request_id)
    if user is not None:
        clauses.append("(actor = ? OR requester = ?)")
        params.extend((user, user))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


async def iter_batches(
    conn: aiosqlite.Connection, select: str, params: Iterable[Any] = (), batch: int = BATCH
) -> AsyncIterator[list[Any]]:
    """Stream a query in `fetchmany` batches: memory stays flat however many rows there are."""
    async with conn.execute(select, tuple(params)) as cursor:
        while rows := await cursor.fetchmany(batch):
            yield rows


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int
    bad_row: int | None = None
    problem: str | None = None

    def line(self) -> str:
        return f"OK: {self.rows} rows" if self.ok else f"FAIL: {self.problem}"


class ChainChecker:
    """Feed rows in id order; stops at the first break and says which row and why."""

    def __init__(self) -> None:
        self.rows = 0
        self.prev_id = 0
        self.prev_hash = GENESIS_HASH
        self.report: ChainReport | None = None

    def feed(self, row: dict[str, Any]) -> bool:
        """Check one row; False once the chain is broken (see `report`)."""
        row_id = row["id"]
        expected = self.prev_id + 1
        if row_id != expected:
            gap = f"ids jump {self.prev_id} -> {row_id}" if self.prev_id else f"first id is {row_id}"
            return self._fail(expected, f"row {expected} missing ({gap})")
        if row["prev_hash"] != self.prev_hash:
            before = f"row {self.prev_id}" if self.prev_id else "the genesis hash (64 zeros)"
            return self._fail(row_id, f"row {row_id}: prev_hash does not match {before}")
        if row_hash(row) != row["hash"]:
            return self._fail(row_id, f"row {row_id}: hash mismatch")
        self.rows += 1
        self.prev_id = row_id
        self.prev_hash = row["hash"]
        return True

    def _fail(self, row_id: int, problem: str) -> bool:
        self.report = ChainReport(False, self.rows, row_id, problem)
        return False

    def result(self) -> ChainReport:
        return self.report or ChainReport(True, self.rows)


def verify_rows(rows: Iterable[dict[str, Any]]) -> ChainReport:
    checker = ChainChecker()
    for row in rows:
        if not checker.feed(row):
            break
    return checker.result()


async def verify_chain(conn: aiosqlite.Connection) -> ChainReport:
    """Recompute the whole chain, streaming in id order."""
    checker = ChainChecker()
    async for batch in iter_batches(conn, f"SELECT {COLUMNS} FROM audit ORDER BY id"):
        for values in batch:
            try:
                row = decode(values)
            except (ValueError, TypeError):
                checker._fail(int(values[0]), f"row {values[0]}: unreadable nested JSON")
                return checker.result()
            if not checker.feed(row):
                return checker.result()
    return checker.result()
