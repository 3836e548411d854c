"""One running bot per test module: fake Slack, fake Entra (HTTPS), fake ImmyBot, the real bot over HTTP.

Tests share the bot (seconds, not minutes) and keep to their own requests; `World` has helpers to find
cards, audit rows and recorded calls.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.config import Settings, load_settings
from bot.services import RunningBot, running_bot
from bot.slack.approvals import ids as approval_ids
from immybot_slack_sandbox.immy_data import generate
from immybot_slack_sandbox.immy_sandbox import ImmySandbox, immy_sandbox
from immybot_slack_sandbox.immy_shapes import Shape
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_seed import SeededWorkspace, seed_workspace
from immybot_slack_sandbox.slack_state import Message
from immybot_slack_sandbox.slack_user import SlackDriver
from tests.immybot.fixtures import shared_body_validator

SECRET = "e2e-signing-secret"
DIRECT_APPROVER = "U0DAVE"  # in APPROVERS by id (bob is in through the user group)
JANE = "U0JANE"  # Slack profile email jane.doe@contoso.com; ImmyBot has Jane.Doe@Contoso.com
REQUESTER_ONLY_GROUP = None


@dataclass
class World:
    fake: FakeSlack
    ws: SeededWorkspace
    driver: SlackDriver
    immy: ImmySandbox
    bot: RunningBot
    settings: Settings

    @property
    def service(self) -> Any:
        return self.bot.services.requests

    def card_with(self, channel: str, request_id: int) -> Message:
        for message in reversed(self.fake.messages(channel)):
            if f"#{request_id}" in message.text or f"#{request_id}" in str(message.blocks):
                return message
        raise LookupError(f"no card of #{request_id} in {channel}")

    def approval_card(self, request_id: int) -> Message:
        return self.card_with(self.ws.approval_channel, request_id)

    async def audit(self, **filters: Any) -> list[dict[str, Any]]:
        return await self.service.audit_rows(**filters)

    def run_calls(self) -> list[Any]:
        return self.immy.immybot.requests_to("/api/v1/run-immy-service", "POST")


def make_settings(tmp: Path, fake: FakeSlack, ws: SeededWorkspace, env: dict[str, str], **extra: Any) -> Settings:
    # These tests count ImmyBot runs, sessions and audit rows of other features: the preview (SPEC §8) is
    # off here, and on in tests/slack_e2e/test_preview.py (which passes preview_before_approval=True).
    defaults: dict[str, Any] = {"max_targets": 5, "preview_before_approval": False}
    return load_settings(
        slack_bot_token=fake.bot_token,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
        immybot_base_url=env["IMMYBOT_BASE_URL"],
        immybot_authority_host=env["IMMYBOT_AUTHORITY_HOST"],
        immybot_tenant_id=env["IMMYBOT_TENANT_ID"],
        immybot_client_id=env["IMMYBOT_CLIENT_ID"],
        immybot_client_secret=env["IMMYBOT_CLIENT_SECRET"],
        approval_channel=ws.approval_channel,
        approvers=f"{DIRECT_APPROVER},{ws.approvers_group}",
        audit_db=tmp / "audit.db",
        port=0,
        session_poll_seconds=0.2,
        log_format="text",
        **(defaults | extra),
    )


@contextlib.asynccontextmanager
async def world_of(tmp: Path, *, mode: str = "http", shape: Shape = "full", **extra: Any) -> AsyncIterator[World]:
    fake = FakeSlack()
    ws = seed_workspace(fake)
    fake.add_user(DIRECT_APPROVER, "dave", real_name="Dave Approver", email="dave@example.com")
    fake.add_user(JANE, "jane", real_name="Jane Doe", email="jane.doe@contoso.com")
    for member in (DIRECT_APPROVER, JANE):
        fake.channels[ws.ops_channel].members.add(member)
        fake.channels[ws.approval_channel].members.add(member)
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    try:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(fake.serve())
            sandbox = await stack.enter_async_context(
                immy_sandbox(tmp, data=generate(7, computers=60), body_validator=shared_body_validator(), shape=shape)
            )
            os.environ["REQUESTS_CA_BUNDLE"] = sandbox.env["REQUESTS_CA_BUNDLE"]
            settings = make_settings(tmp, fake, ws, sandbox.env, **extra)
            socket = mode == "socket"
            if socket:
                settings = settings.model_copy(update={"slack_app_token": _secret(fake.app_token)})
            bot = await stack.enter_async_context(running_bot(settings, socket=socket))
            driver = await stack.enter_async_context(
                SlackDriver(fake, signing_secret=SECRET, bot_url=bot.url, mode="socket" if socket else "http")
            )
            yield World(fake, ws, driver, sandbox, bot, settings)
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with world_of(tmp_path_factory.mktemp("e2e")) as built:
        yield built


APPROVE = approval_ids.APPROVE_ACTION
DENY = approval_ids.DENY_ACTION


@pytest.fixture
def searched(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every query the catalog is asked to search (the real search still answers)."""
    seen: list[str] = []
    catalog = world.bot.services.catalog

    def spy(real: Callable[..., Any]) -> Callable[..., Any]:
        def search(query: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(query)
            return real(query, *args, **kwargs)
        return search

    for name in ("search_software", "search_computers"):
        monkeypatch.setattr(catalog, name, spy(getattr(catalog, name)))
    return seen
