from collections.abc import AsyncIterator

import pytest

from bot.workflow.service import RequestService
from tests.pg_server import pg_server, pg_url
from tests.store.backends import Backend, backend, runs_on
from tests.workflow.factories import Clock
from tests.workflow.fixtures import *  # noqa: F403

__all__ = ["backend", "pg_server", "pg_url", "svc_store"]


@pytest.fixture
async def svc_store(backend: Backend, clock: Clock) -> AsyncIterator[tuple[RequestService, object]]:
    """The shared fixture, on each backend in turn: every store test using `service` runs on both."""
    service, store = await backend.service(clock)
    yield service, store
    await store.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the in-memory runs of tests about the adapters themselves (SQL, files, processes, CLI)."""
    skipped = [item for item in items if not _applies(item)]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if _applies(item)]


def _applies(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("backend") if callspec is not None else None
    return name != "memory" or runs_on(item, name)
