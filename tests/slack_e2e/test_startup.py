"""`immybot-slack run` serves Slack at once; a slow first catalog load happens in the background."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

import httpx

from bot.sandbox.immy_data import generate
from bot.sandbox.immy_sandbox import immy_sandbox
from bot.sandbox.slack import FakeSlack
from bot.sandbox.slack_seed import seed_workspace
from bot.services import running_bot
from tests.slack_e2e.conftest import make_settings


async def test_bot_serves_while_the_first_catalog_load_is_slow(tmp_path: Path) -> None:
    fake = FakeSlack()
    ws = seed_workspace(fake)
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    try:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(fake.serve())
            sandbox = await stack.enter_async_context(immy_sandbox(tmp_path, data=generate(3, computers=30)))
            os.environ["REQUESTS_CA_BUNDLE"] = sandbox.env["REQUESTS_CA_BUNDLE"]
            sandbox.immybot.faults.latency(1.5, "/api/v1/software/*")
            settings = make_settings(tmp_path, fake, ws, sandbox.env)
            began = time.monotonic()
            bot = await stack.enter_async_context(running_bot(settings, wait_for_catalog=False))
            assert time.monotonic() - began < 1.5  # did not wait for the catalog
            async with httpx.AsyncClient(base_url=bot.url) as http:
                early = (await http.get("/healthz")).json()
                assert "loading" in str(early)
                assert not bot.services.catalog.loaded
                assert bot.services.catalog_ready is not None
                await asyncio.wait_for(asyncio.shield(bot.services.catalog_ready), 10)
                assert bot.services.catalog.loaded
                assert "loading" not in str((await http.get("/healthz")).json())
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous
