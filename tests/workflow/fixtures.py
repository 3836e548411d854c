"""Store and service fixtures shared by the workflow and store tests.

The domain's tests run on the in-memory store port; tests/store overrides `svc_store` with each real backend."""

from __future__ import annotations

import pytest

from bot.workflow.service import RequestService
from tests.domain.fakes import InMemoryStore
from tests.workflow.factories import Clock, make_domain_service


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc_store(clock: Clock) -> tuple[RequestService, InMemoryStore]:
    return make_domain_service(clock)


@pytest.fixture
def service(svc_store: tuple[RequestService, InMemoryStore]) -> RequestService:
    return svc_store[0]


__all__ = ["clock", "service", "svc_store"]
