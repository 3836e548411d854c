"""Reusable Slack fixtures: a served, seeded fake Slack, a Web API client pointed at it, and a driver factory.

Exposed to every test through `tests/conftest.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Literal

import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_seed import SeededWorkspace, seed_workspace
from immybot_slack_sandbox.slack_user import SlackDriver

SLACK_SIGNING_SECRET = "signing-secret-for-tests"

__all__ = [
    "SLACK_SIGNING_SECRET",
    "fake_slack",
    "slack_client",
    "slack_driver_factory",
    "slack_workspace",
]


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack on 127.0.0.1 seeded with `seed_workspace` (alice, bob, carol; #it-ops, #immy-approvals)."""
    fake = FakeSlack()
    seed_workspace(fake)
    async with fake.serve():
        yield fake


@pytest.fixture
def slack_workspace() -> SeededWorkspace:
    """The ids `fake_slack` was seeded with."""
    return SeededWorkspace()


@pytest.fixture
async def slack_client(fake_slack: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    client = AsyncWebClient(
        token=fake_slack.bot_token,
        base_url=fake_slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    yield client
    if client.session is not None:
        await client.session.close()


@pytest.fixture
async def slack_driver_factory(
    fake_slack: FakeSlack,
) -> AsyncIterator[Callable[..., SlackDriver]]:
    """`make(bot_url, mode="http", signing_secret=SLACK_SIGNING_SECRET) -> SlackDriver`, closed at teardown."""
    made: list[SlackDriver] = []

    def make(
        bot_url: str = "", mode: Literal["http", "socket"] = "http", signing_secret: str = SLACK_SIGNING_SECRET
    ) -> SlackDriver:
        driver = SlackDriver(fake_slack, signing_secret=signing_secret, bot_url=bot_url, mode=mode)
        made.append(driver)
        return driver

    yield make
    for driver in made:
        await driver.aclose()
