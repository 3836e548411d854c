"""Background loop that expires undecided requests and lets the Slack layer tell requesters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from bot.workflow.model import Request


class Expirer(Protocol):
    async def expire_due(self) -> list[Request]: ...

log = logging.getLogger(__name__)


async def expiry_loop(
    service: Expirer,
    every_seconds: float,
    on_expired: Callable[[Request], Awaitable[None]],
) -> None:
    """Every `every_seconds`: expire due requests (audited) and call `on_expired` for each.

    Runs until cancelled; a failing pass or callback is logged and the loop carries on.
    """
    while True:
        try:
            for request in await service.expire_due():
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
                    on_done: Callable[[T], Awaitable[None]]) -> None:
    """Every `every_seconds`: one `tick()` (a singleton-style pass, e.g. reminders), then `on_done` for
    each thing it did. Runs until cancelled; a failing pass or callback is logged and it carries on."""
    while True:
        try:
            for item in await tick():
                try:
                    await on_done(item)
                except Exception:
                    log.exception("tick callback failed")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("tick failed")
        await asyncio.sleep(every_seconds)
