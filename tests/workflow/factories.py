"""Builders shared by the workflow and store tests: drafts, a fake group directory, a settable clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store import Store
from bot.workflow.model import (
    Catalog,
    Computer,
    DesiredState,
    Draft,
    RunOptions,
    Software,
    Targets,
)
from bot.workflow.policy import Policy
from bot.workflow.service import RequestService
from tests.domain.fakes import InMemoryStore

APPROVER = "UAPPROVER"
APPROVER2 = "UAPPROVER2"
GROUP_MEMBER = "UGROUPIE"
REQUESTER = "UREQUESTER"
STRANGER = "USTRANGER"
GROUP = "SAPPROVERS"


class FakeGroups:
    def __init__(self, groups: dict[str, set[str]] | None = None, delay: float = 0.0) -> None:
        self.groups = groups if groups is not None else {GROUP: {GROUP_MEMBER}}
        self.calls: list[str] = []
        self.delay = delay
        self.fail = False

    async def members(self, group_id: str) -> frozenset[str]:
        self.calls.append(group_id)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("slack down")
        return frozenset(self.groups.get(group_id, set()))


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 15, 14, 2, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_draft(
    requester: str = REQUESTER,
    computers: int = 2,
    *,
    preview: bool = False,
    email: str | None = None,
    reason: str = "ticket 123",
) -> Draft:
    return Draft(
        requester=requester,
        channel="C0REQUESTS",
        software=Software(id=714, name="7-Zip", catalog=Catalog.GLOBAL),
        action=DesiredState.LATEST,
        targets=Targets(computers=tuple(Computer(id=i, name=f"PC-{i}") for i in range(1, computers + 1)), email=email),
        options=RunOptions(preview=preview),
        reason=reason,
    )


def make_policy(groups: FakeGroups | None = None, **overrides: object) -> Policy:
    values: dict[str, object] = {
        "approver_users": {APPROVER, APPROVER2},
        "approver_groups": {GROUP},
        "requester_users": set(),
        "requester_groups": set(),
        "allow_self_approval": False,
        "max_targets": 5,
        "approval_ttl": timedelta(hours=24),
        "groups": groups or FakeGroups(),
    }
    values.update(overrides)
    return Policy(**values)  # type: ignore[arg-type]


async def make_service(path: Path, clock: Clock | None = None, **policy: object) -> tuple[RequestService, Store]:
    store = await Store.open(path)
    return RequestService(store, make_policy(**policy), clock=clock or Clock()), store


def make_domain_service(clock: Clock | None = None, **policy: object) -> tuple[RequestService, InMemoryStore]:
    """The service on the in-memory store port (tests/store runs the store suite on it and on SQLite)."""
    store = InMemoryStore()
    return RequestService(store, make_policy(**policy), clock=clock or Clock()), store
