"""The follower's lease loop when several replicas share the database (SPEC §9).

Every third of a lease (or at once when this replica just started sessions): renew what it holds and
drop from the follower what it no longer holds (another replica took it over), then claim the due
sessions nobody holds — new runs, a released replica's, or a dead replica's once its lease ran out —
and hand them to the follower (with the requests as stored, so a cancel asked for on another
replica reaches the holder within a third of a lease). A dead replica's sessions are therefore
claimed within one lease plus a third of one. On shutdown the leases are given back, so a restart or
another replica carries on at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.workflow.leases import SessionLeases, stop_requested
from bot.workflow.model import Request

log = logging.getLogger(__name__)


class _Follows(Protocol):
    claim_now: asyncio.Event

    def adopt(self, request: Request, session_ids: set[int]) -> None: ...

    def adopt_preview(self, request: Request, session_ids: set[int]) -> None: ...

    def drop(self, request_id: int, session_id: int, stored: Request | None = None) -> bool: ...

    def followed_keys(self) -> set[tuple[int, int]]: ...

    def previewed_keys(self) -> set[tuple[int, int]]: ...


async def keep_leases(follower: _Follows, leases: SessionLeases, load: Callable[[int], Awaitable[Request]]) -> None:
    every = max(leases.lease_seconds / 3, 0.05)
    try:
        while not stop_requested():
            follower.claim_now.clear()
            try:
                await _tick(follower, leases, load)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("session lease pass failed; trying again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    await follower.claim_now.wait()
    finally:
        try:
            await leases.release()
        except Exception:
            log.warning("could not give the session leases back; they run out by themselves", exc_info=True)


async def _tick(follower: _Follows, leases: SessionLeases, load: Callable[[int], Awaitable[Request]]) -> None:
    held = await leases.renew()
    for request_id, session_id in (follower.followed_keys() | follower.previewed_keys()) - held:
        if not follower.drop(request_id, session_id, await load(request_id)):
            log.warning("lost the lease on session %s of request %s: another replica follows it",
                        session_id, request_id)  # fmt: skip
    runs: dict[int, set[int]] = {}
    previews: dict[int, set[int]] = {}
    for claim in await leases.claim_due():
        (previews if claim.preview else runs).setdefault(claim.request_id, set()).add(claim.session_id)
        if claim.taken_over_from:
            log.info("took %ssession %s over from %s", "preview " if claim.preview else "", claim.session_id,
                     claim.taken_over_from, extra={"request_id": claim.request_id})  # fmt: skip
    for request_id, session_ids in runs.items():
        follower.adopt(await load(request_id), session_ids)
    for request_id, session_ids in previews.items():
        follower.adopt_preview(await load(request_id), session_ids)
    # a cancel (or a decision, for a preview) made on another replica reaches the holder through the database
    for request_id in {rid for rid, _ in follower.followed_keys()} - runs.keys():
        follower.adopt(await load(request_id), set())
    for request_id in {rid for rid, _ in follower.previewed_keys()} - previews.keys():
        follower.adopt_preview(await load(request_id), set())
