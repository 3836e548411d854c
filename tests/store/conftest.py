from collections.abc import AsyncIterator

import pytest

from bot.workflow.service import RequestService
from tests.pg_server import pg_server, pg_url
from tests.store.backends import Backend, backend
from tests.workflow.factories import Clock
from tests.workflow.fixtures import *  # noqa: F403

__all__ = ["backend", "pg_server", "pg_url", "svc_store"]


@pytest.fixture
async def svc_store(backend: Backend, clock: Clock) -> AsyncIterator[tuple[RequestService, object]]:
    """The shared fixture, on each backend in turn: every store test using `service` runs on both."""
    service, store = await backend.service(clock)
    yield service, store
    await store.close()
