"""`immybot-slack run`: load settings, pick the Slack mode, serve until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from bot.config import Settings, load_settings
from bot.logs import register_secrets, setup_logging
from bot.policy_file import load_policy

if TYPE_CHECKING:
    from bot.services import RunningBot

log = logging.getLogger("bot.runner")


def _secrets(settings: Settings) -> list[str | None]:
    values = [settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token,
              settings.immybot_client_secret]
    return [v.get_secret_value() if v is not None else None for v in values]


async def freeze_once_loaded(bot: RunningBot) -> None:
    """Once the first catalog load is over, everything alive (modules, the app, the catalog) lives as
    long as the process: `gc.freeze()` keeps it out of the cyclic GC's full collections, which
    otherwise stall the event loop for ~50 ms in the middle of a burst of typeahead loads."""
    if bot.services.catalog_ready is not None:
        await bot.services.catalog_ready
    gc.freeze()


async def serve_until_stopped(settings: Settings, socket: bool) -> None:
    from bot.services import running_bot

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with running_bot(settings, socket=socket, host="0.0.0.0", wait_for_catalog=False) as bot:
        mode = "Socket Mode" if socket else "HTTP (POST /slack/events)"
        log.info("immybot-slack is running", extra={"mode": mode, "url": bot.url})
        freezing = asyncio.create_task(freeze_once_loaded(bot))
        await stop.wait()
        freezing.cancel()
        log.info("stopping")


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the bot's event loop (`immybot-slack run`, and the benchmark's bot process): uvloop where it
    is installed (not on Windows), for a cheaper loop under bursts of typeahead loads."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def run(socket: bool | None = None) -> int:
    settings = load_settings()
    use_socket = settings.socket_mode if socket is None else socket
    settings.require_mode(socket=use_socket)
    if settings.policy_file:  # checked before anything connects: a broken file stops start-up (exit 2)
        load_policy(settings.policy_file)
    register_secrets(_secrets(settings))
    setup_logging(settings.log_level, settings.log_format)
    run_event_loop(serve_until_stopped(settings, use_socket))
    return 0
