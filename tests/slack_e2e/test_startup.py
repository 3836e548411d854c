"""`immybot-slack run` serves Slack at once; a slow first catalog load happens in the background."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

import httpx
import pytest

from bot import services as services_module
from bot.services import running_bot
from bot.slack.requests import ids
from immybot_slack_sandbox.immy_data import generate
from immybot_slack_sandbox.immy_sandbox import immy_sandbox
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_seed import seed_workspace
from immybot_slack_sandbox.slack_user import SlackDriver
from tests.slack_e2e.conftest import SECRET, World, make_settings
from tests.slack_e2e.flows import open_modal


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


async def test_an_entra_outage_at_start_is_retried_until_the_typeahead_has_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entra answers 503 to the first token requests: the first catalog load is retried with backoff (its
    base shortened here instead of sleeping), /healthz says loading meanwhile, and the typeahead has the
    catalog soon after Entra recovers — not CATALOG_REFRESH_MINUTES later."""
    monkeypatch.setattr(services_module, "CATALOG_RETRY_FIRST_SECONDS", 0.2)
    fake = FakeSlack()
    ws = seed_workspace(fake)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(fake.serve())
        sandbox = await stack.enter_async_context(immy_sandbox(tmp_path, data=generate(3, computers=30)))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.env["REQUESTS_CA_BUNDLE"])
        sandbox.entra.fail_token_requests(8)  # more than one load's worth of retries
        settings = make_settings(tmp_path, fake, ws, sandbox.env)
        bot = await stack.enter_async_context(running_bot(settings, wait_for_catalog=False))
        driver = await stack.enter_async_context(SlackDriver(fake, signing_secret=SECRET, bot_url=bot.url))
        world = World(fake, ws, driver, sandbox, bot, settings)
        async with httpx.AsyncClient(base_url=bot.url) as http:
            assert "loading" in str((await http.get("/healthz")).json())
            assert bot.services.catalog_ready is not None
            await asyncio.wait_for(asyncio.shield(bot.services.catalog_ready), 30)
            assert "loading" not in str((await http.get("/healthz")).json())
        assert sandbox.entra.outages == [] and sandbox.entra.tokens_issued >= 1
        failed = [r for r in sandbox.entra.token_requests if r.error_code == "503"]
        assert len(failed) == 8
        view = await open_modal(world, ws.requester)
        options = await driver.suggest(ws.requester, view, ids.SOFTWARE_ACTION, "chrome")
        assert options and options[0]["text"]["text"].startswith("Google Chrome")
