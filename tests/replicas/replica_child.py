"""One bot replica as a child process: `python -m tests.replicas.replica_child`.

Settings come from the environment (DATABASE_URL among them); prints `READY <url>` once serving.
"""

from __future__ import annotations

import asyncio
import signal

from bot.config import load_settings
from bot.logs import setup_logging
from bot.services import running_bot


async def main() -> None:
    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)  # a clean shutdown, as `run` does
    async with running_bot(settings) as bot:
        print(f"READY {bot.url}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
