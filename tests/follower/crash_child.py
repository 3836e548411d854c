"""The whole bot as a child process for the crash tests: `python -m tests.follower.crash_child`.

Settings come from the environment (the test points them at its fakes); prints READY once serving.
"""

from __future__ import annotations

import asyncio

from bot.config import load_settings
from bot.logs import setup_logging
from bot.services import running_bot


async def main() -> None:
    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    async with running_bot(settings):
        print("READY", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
