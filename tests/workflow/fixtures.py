"""Store and service fixtures shared by the workflow and store tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store
from bot.workflow.service import RequestService
from tests.workflow.factories import Clock, make_service


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def svc_store(tmp_path: Path, clock: Clock) -> AsyncIterator[tuple[RequestService, Store]]:
    service, store = await make_service(tmp_path / "audit.db", clock)
    yield service, store
    await store.close()


@pytest.fixture
def service(svc_store: tuple[RequestService, Store]) -> RequestService:
    return svc_store[0]


__all__ = ["clock", "service", "svc_store"]
