"""Races and crashes: one winner among fifty approvals (tasks, processes); a killed writer leaves nothing half-done."""

from __future__ import annotations

import asyncio
import json
import sys

from bot.workflow.errors import IllegalTransition
from bot.workflow.model import RequestState
from bot.workflow.service import RequestService
from tests.conftest import REPO
from tests.store.backends import Backend, adapter_only
from tests.workflow.factories import APPROVER, make_draft, make_policy


async def _approved_rows(service: RequestService) -> int:
    return sum(1 for r in await service.audit_rows() if r["event"] == "request.approved")


async def test_fifty_concurrent_tasks_one_winner(service: RequestService) -> None:
    request = await service.submit(make_draft())

    async def click() -> bool:
        try:
            await service.approve(request.id, APPROVER)
            return True
        except IllegalTransition:
            return False

    wins = await asyncio.gather(*(click() for _ in range(50)))
    assert sum(wins) == 1 and await _approved_rows(service) == 1


@adapter_only  # processes sharing a database
async def test_fifty_attempts_from_two_processes_one_winner(backend: Backend) -> None:
    db = backend.target
    service, store = await backend.service()
    request = await service.submit(make_draft())
    procs = [
        await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tests.store.workers", "approve", str(db), str(request.id), "25"),
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    async with asyncio.timeout(60):
        for proc in procs:  # both have opened the store
            assert proc.stdout is not None
            assert (await proc.stdout.readline()).strip() == b"ready"
        outputs = await asyncio.gather(*(proc.communicate(b"go\n") for proc in procs))
    assert all(proc.returncode == 0 for proc in procs), outputs
    wins = sum(json.loads(out.decode().strip().splitlines()[-1])["wins"] for out, _ in outputs)
    assert wins == 1
    assert (await service.get(request.id)).state is RequestState.APPROVED
    assert await _approved_rows(service) == 1
    await store.close()
    assert (await backend.verify()).ok


@adapter_only
async def test_writer_killed_mid_transaction(backend: Backend) -> None:
    db = backend.target
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.store.workers", "crash", str(db)),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == -9 and b"inside" in out, err
    report = await backend.verify()
    assert report.ok and report.rows == 1
    store = await backend.open()
    try:
        service = RequestService(store, make_policy())  # type: ignore[arg-type]
        assert [r.id for r in await service.pending()] == [1]  # the UPDATE of #1 was rolled back
        with_new = await service.submit(make_draft())  # the write lock is free again
        assert with_new.id == (3 if backend.is_pg else 2)  # a PostgreSQL sequence never rolls back: a gap
        assert (await service.approve(1, APPROVER)).state is RequestState.APPROVED
    finally:
        await store.close()
    assert (await backend.verify()).rows == 3
