"""Background loop that expires undecided requests and lets the Slack layer tell requesters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from bot.workflow.leases import LocalSingletons, Singletons
from bot.workflow.model import Request


class Expirer(Protocol):
    async def expire_due(self) -> list[Request]: ...

log = logging.getLogger(__name__)


async def expiry_loop(
    service: Expirer,
    every_seconds: float,
    on_expired: Callable[[Request], Awaitable[None]],
    singletons: Singletons | None = None,
) -> None:
    """Every `every_seconds`: expire due requests (audited) and call `on_expired` for each.

    Runs until cancelled; a failing pass or callback is logged and the loop carries on. With replicas,
    one of them runs each pass (`singletons`); the expiry itself is a compare-and-set either way.
    """
    once = singletons or LocalSingletons()
    while True:
        try:
            async with once.singleton("expiry") as mine:
                expired = await service.expire_due() if mine else []
            for request in expired:
                try:
                    await on_expired(request)
                except Exception:
                    log.exception("expiry notification failed", extra={"request_id": request.id})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("expiry pass failed")
        await asyncio.sleep(every_seconds)


T = TypeVar("T")


async def tick_loop(tick: Callable[[], Awaitable[list[T]]], every_seconds: float,
                    on_done: Callable[[T], Awaitable[None]], singletons: Singletons | None = None,
                    name: str = "tick") -> None:
    """Every `every_seconds`: one `tick()` (a singleton pass, e.g. reminders: with replicas, one of them
    runs each pass), then `on_done` for each thing it did. Runs until cancelled; a failing pass or
    callback is logged and it carries on."""
    once = singletons or LocalSingletons()
    while True:
        try:
            async with once.singleton(name) as mine:
                done = await tick() if mine else []
            for item in done:
                try:
                    await on_done(item)
                except Exception:
                    log.exception("tick callback failed")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("tick failed")
        await asyncio.sleep(every_seconds)
