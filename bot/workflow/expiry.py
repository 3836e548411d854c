"""The background ticks: one pass every few seconds of a use-case that tells its own steps (expiry,
reminders)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.workflow.leases import LocalSingletons, Singletons

log = logging.getLogger(__name__)


async def tick_loop(tick: Callable[[], Awaitable[Any]], every_seconds: float,
                    singletons: Singletons | None = None, name: str = "tick") -> None:
    """Every `every_seconds`: one `tick()` (e.g. `RequestService.expire_due`, `ReminderTick.tick`). With
    replicas, one of them runs each pass (`singletons`); the change itself is a compare-and-set either
    way. Runs until cancelled; a failing pass is logged and it carries on."""
    once = singletons or LocalSingletons()
    while True:
        try:
            async with once.singleton(name) as mine:
                if mine:
                    await tick()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("tick failed", extra={"tick": name})
        await asyncio.sleep(every_seconds)
