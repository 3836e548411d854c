"""Subprocess workers for the multi-process tests: `python -m tests.store.workers <mode> <db> ...`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

from bot.store import Store
from bot.store.audit import AuditEntry
from bot.store.pg import PgStore
from bot.workflow.errors import IllegalTransition
from bot.workflow.service import RequestService
from tests.workflow.factories import APPROVER, make_draft, make_policy


async def _open(db: str) -> Any:
    """The store behind `db`: a SQLite file, or a postgresql:// URL (each process its own pool)."""
    return await (PgStore.open(db) if db.startswith("postgresql://") else Store.open(db))


async def approve_many(db: str, request_id: int, tasks: int) -> None:
    store = await _open(db)
    service = RequestService(store, make_policy())
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # "go": start together with the other process

    async def one() -> bool:
        try:
            await service.approve(request_id, APPROVER)
            return True
        except IllegalTransition:
            return False

    wins = await asyncio.gather(*(one() for _ in range(tasks)))
    await store.close()
    print(json.dumps({"wins": sum(wins)}))


async def crash_mid_transaction(db: str) -> None:
    store = await _open(db)
    service = RequestService(store, make_policy())
    await service.submit(make_draft())  # committed
    async with store.write() as tx:
        request = await tx.insert_request(make_draft(), service._clock())
        await tx.append_audit(AuditEntry(event="request.created", request_id=request.id), service._clock())
        await tx.conn.execute("UPDATE requests SET state = 'approved' WHERE id = 1")
        print("inside", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    mode, db, *rest = sys.argv[1:]
    if mode == "approve":
        asyncio.run(approve_many(db, int(rest[0]), int(rest[1])))
    elif mode == "crash":
        asyncio.run(crash_mid_transaction(db))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
