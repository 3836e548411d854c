"""Forward-only, numbered schema migrations, tracked in the `schema_migrations` table.

Append new steps to `MIGRATIONS`; never edit a step that has shipped. Each step runs inside its own
`BEGIN IMMEDIATE` transaction together with the row that records it, so a crash mid-migration
leaves the previous version intact and two processes opening the file at once apply it once.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiosqlite

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: requests and the audit log
    (
        """CREATE TABLE requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            state TEXT NOT NULL,
            requester TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX requests_requester ON requests (requester, id)",
        "CREATE INDEX requests_state ON requests (state, created_at)",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            request_id INTEGER,
            event TEXT NOT NULL,
            actor TEXT,
            requester TEXT,
            software TEXT,
            action TEXT,
            targets TEXT,
            reason TEXT,
            decision_reason TEXT,
            immybot_session_ids TEXT,
            outcome TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
    ),
    # 2: sessions followed per request, and idempotency keys
    (
        """CREATE TABLE sessions (
            request_id INTEGER NOT NULL REFERENCES requests (id),
            session_id INTEGER NOT NULL,
            computer_id INTEGER,
            status TEXT NOT NULL,
            already_in_progress INTEGER NOT NULL DEFAULT 0,
            finished_at TEXT,
            PRIMARY KEY (request_id, session_id)
        )""",
        """CREATE TABLE dedup (
            key TEXT PRIMARY KEY,
            result TEXT,
            expires_at TEXT NOT NULL
        )""",
        "CREATE INDEX dedup_expires_at ON dedup (expires_at)",
    ),
    # 3: the audit log is append-only (defence in depth: the bot never updates or deletes rows)
    (
        """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
           BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END""",
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
           BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END""",
        "CREATE INDEX audit_request_id ON audit (request_id)",
        "CREATE INDEX audit_actor ON audit (actor)",
        "CREATE INDEX audit_requester ON audit (requester)",
    ),
    # 4: nothing on SQLite (PostgreSQL's audit head and leases): both backends keep one numbering
    ("SELECT 1",),
    # 5: what a session is for (the real run, or the detection-only preview) and which attempt
    #    (1 = the approved run, 2+ = "Retry failed")
    (
        "ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'run'",
        "ALTER TABLE sessions ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1",
    ),
)

LATEST_VERSION = len(MIGRATIONS)

_TRACKING = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"


async def current_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='schema_migrations'") as cursor:
        if await cursor.fetchone() is None:
            return 0
    async with conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection, target: int = LATEST_VERSION) -> int:
    """Apply every step above the database's version up to `target`; return the version reached.

    `conn` must be in autocommit mode (isolation_level=None). A database newer than this code is
    refused rather than silently used.
    """
    await conn.execute(_TRACKING)
    version = await current_version(conn)
    if version > LATEST_VERSION:
        raise RuntimeError(f"database schema v{version} is newer than this bot (v{LATEST_VERSION}); upgrade the bot")
    while version < target:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            version = await current_version(conn)  # another process may have migrated meanwhile
            if version >= target:
                await conn.execute("ROLLBACK")
                break
            step = version + 1
            for statement in MIGRATIONS[step - 1]:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (step, datetime.now(UTC).isoformat()),
            )
            await conn.execute("COMMIT")
            version = step
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
    return version
