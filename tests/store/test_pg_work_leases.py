"""Leases on one piece of work (a run's start, a summary, a preview's start) between two replicas, each its
own pool: one holder while its lease is live, the other takes it only once it ran out (`lapsed` lists it),
the loser of a takeover cannot renew, the dedup prune never removes a lapsed lease, and a preview's
sessions are queued for lease claims like a run's (marked as the preview's)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.store.pg import PgStore
from bot.store.pg.leases import PgLeases
from bot.workflow.leases import LocalLeases
from bot.workflow.model import SESSION_PREVIEW, SessionInfo
from bot.workflow.service import RequestService
from bot.workflow.work_lease import START, SUMMARY, leased, request_of
from tests.workflow.factories import Clock, make_draft, make_policy

LEASE = timedelta(seconds=30)
T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
KEY = f"{START}7.1"


@pytest.fixture
async def replicas(pg_url: str) -> AsyncIterator[tuple[PgStore, PgStore]]:
    first, second = await asyncio.gather(PgStore.open(pg_url, max_size=4), PgStore.open(pg_url, max_size=4))
    yield first, second
    await asyncio.gather(first.close(), second.close())


async def test_one_holder_while_the_lease_is_live(replicas: tuple[PgStore, PgStore]) -> None:
    a, b = replicas
    wins = await asyncio.gather(*(s.hold(KEY, f"r{n}", T0, LEASE) for n, s in enumerate([a, b] * 5)))
    assert sum(wins) == 1
    holder = f"r{wins.index(True)}"
    assert not await a.hold(KEY, holder, T0 + LEASE / 2, LEASE)  # not twice, not even by its holder
    assert not await b.hold(KEY, "someone", T0 + LEASE / 2, LEASE)
    assert await b.lapsed(START, T0 + LEASE / 2) == []


async def test_a_lapsed_lease_is_listed_taken_over_and_the_old_holder_cannot_renew(
    replicas: tuple[PgStore, PgStore],
) -> None:
    a, b = replicas
    assert await a.hold(KEY, "dead", T0, LEASE)
    later = T0 + LEASE + timedelta(seconds=1)
    assert await b.lapsed(START, later) == [KEY] and request_of(KEY) == 7
    assert await b.lapsed(SUMMARY, later) == []
    assert await b.hold(KEY, "alive", later, LEASE)
    assert not await a.keep(KEY, "dead", later, LEASE)  # it stalled past its lease: it must stop
    assert await b.keep(KEY, "alive", later + LEASE / 2, LEASE)
    await a.let_go(KEY, "dead")  # letting go of a lease one no longer holds changes nothing
    assert not await a.hold(KEY, "third", later + LEASE / 2, LEASE)
    await b.let_go(KEY, "alive")
    assert await a.hold(KEY, "third", later + LEASE / 2, LEASE)  # let go: free at once


async def test_the_prune_keeps_lapsed_leases(replicas: tuple[PgStore, PgStore]) -> None:
    a, _ = replicas
    service = RequestService(a, make_policy(), clock=Clock())  # type: ignore[arg-type]
    assert await a.hold(KEY, "dead", T0, LEASE)
    assert await service.claim("once:1", ttl_seconds=1)
    async with a.write() as tx:
        pruned = await tx.prune_dedup(datetime.now(UTC) + timedelta(days=400))
    assert pruned >= 1
    assert await a.lapsed(START, datetime.now(UTC)) == [KEY]


async def test_preview_sessions_are_claimed_under_leases_marked_as_the_previews(
    replicas: tuple[PgStore, PgStore],
) -> None:
    a, b = replicas
    request = await RequestService(a, make_policy(), clock=Clock()).submit(make_draft())  # type: ignore[arg-type]
    async with a.write() as tx:
        await tx.add_sessions(request.id, [SessionInfo(session_id=900, computer_id=1, status="Running")],
                              SESSION_PREVIEW)  # fmt: skip
        await tx.add_sessions(request.id, [SessionInfo(session_id=901, computer_id=1, status="Running")])
    claims = await b.claim_due("replica-b", datetime.now(UTC), LEASE)
    assert {(c.session_id, c.preview) for c in claims} == {(900, True), (901, False)}
    leases = PgLeases(b, lease_seconds=30, owner="replica-b")
    assert {c.preview for c in await leases.claim_due()} <= {True, False}


async def test_leased_work_holds_renews_and_lets_go(replicas: tuple[PgStore, PgStore]) -> None:
    a, b = replicas
    mine, theirs = PgLeases(a, lease_seconds=1.0, owner="a"), PgLeases(b, lease_seconds=1.0, owner="b")
    async with leased(mine, KEY) as lease:
        assert lease is not None
        await asyncio.sleep(2.0)  # two leases long: renewed meanwhile, so still held (1 s: a busy CI stalls)
        async with leased(theirs, KEY) as other:
            assert other is None
        await lease.check()
    async with leased(theirs, KEY) as other:  # let go at the end of the block
        assert other is not None
    async with leased(LocalLeases(), KEY) as local:  # SQLite: always this process's
        assert local is not None


async def test_the_block_ends_when_the_event_loop_stalled_past_the_lease(replicas: tuple[PgStore, PgStore]) -> None:
    """A stalled loop (a busy machine) leaves the renewing task overdue, its renewal in flight as the block
    ends: a cancel that lands as that query ends can be lost (Python 3.11), and the block's end waited
    for the renewing loop forever. It ends now, and the work is still its holder's."""
    a, b = replicas
    mine, theirs = PgLeases(a, lease_seconds=0.3, owner="a"), PgLeases(b, lease_seconds=0.3, owner="b")
    for _round in range(3):
        async with asyncio.timeout(5):
            async with leased(mine, KEY) as lease:
                assert lease is not None
                async with leased(theirs, KEY) as other:
                    assert other is None
                time.sleep(0.5)  # noqa: ASYNC251 - the point: the event loop does nothing meanwhile
                await lease.check()  # nobody else took it: still ours
