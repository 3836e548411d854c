"""A rig for the follower: fake Slack + fake Entra (HTTPS) + fake ImmyBot, the real store, client,
reporter and follower, all over real HTTP on 127.0.0.1. Durations are tiny."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.immybot.client import ImmyBotClient
from bot.immybot.port import ImmyBotSessions
from bot.immybot.transport import RetryPolicy
from bot.slack.approvals.views import approval_card
from bot.slack.reports.reporter import SUMMARY_EVENT, SlackReporter
from bot.slack.requests.views import request_card
from bot.store import Store
from bot.workflow.follower import Follower
from bot.workflow.model import (
    Catalog,
    Computer,
    DesiredState,
    Draft,
    MessageRef,
    OfflineBehavior,
    Request,
    RequestState,
    RunOptions,
    Software,
    Targets,
)
from bot.workflow.service import RequestService
from immybot_slack_sandbox.immy_sandbox import ImmySandbox
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_state import Message, UploadedFile
from tests.workflow.factories import APPROVER, REQUESTER, make_policy

REQUESTS_CHANNEL = "C0REQUESTS"
APPROVAL_CHANNEL = "C0APPROVE"
CHROME = Software(id=714, name="Google Chrome", catalog=Catalog.GLOBAL)


@dataclass
class Rig:
    slack: FakeSlack
    immy: ImmySandbox
    client: AsyncWebClient
    service: RequestService
    store: Store
    reporter: SlackReporter
    follower: Follower
    immy_client: ImmyBotClient

    @property
    def fake(self) -> Any:
        return self.immy.immybot

    def computers(self, n: int, *, offset: int = 0) -> list[Computer]:
        rows = self.fake.data.computers[offset : offset + n]
        return [Computer(id=r["id"], name=r["computerName"]) for r in rows]

    async def approved(
        self, computers: list[Computer], *, offline: OfflineBehavior = OfflineBehavior.SKIP, kick: bool = True
    ) -> Request:
        request = await post_cards(self.service, self.client, computers, offline=offline)
        request = await self.service.approve(request.id, APPROVER)
        if kick:
            self.follower.start_in_background(request.id)
        return request

    def thread(self, request: Request) -> list[Message]:
        card = request.request_card
        assert card is not None
        return self.slack.thread(card.channel, card.ts)

    def summaries(self, request: Request) -> list[Message]:
        return [m for m in self.thread(request) if (m.metadata or {}).get("event_type") == SUMMARY_EVENT]

    async def finished(self, request_id: int, timeout: float = 15.0) -> Request:  # noqa: ASYNC109
        """Wait until the request is finished and its report done: summary, CSV and card updates all sent
        (a check made as soon as the summary shows up would race the rest of the report)."""
        deadline = time.monotonic() + timeout
        while True:
            request = await self.service.get(request_id)
            reported = request.state is RequestState.FINISHED and request.reported and self.summaries(request)
            if reported and self.follower.idle and not self.reporter.busy:
                return request
            if time.monotonic() > deadline:
                raise TimeoutError(f"request #{request_id} is {request.state.value}, reported={request.reported}")
            await asyncio.sleep(0.05)

    def shared_files(self, request: Request) -> list[UploadedFile]:
        """Files whose upload completed and that were shared in the request's thread."""
        card = request.request_card
        assert card is not None
        return [f for f in self.slack.files.values() if f.shared and f.thread_ts == card.ts]

    def run_calls(self) -> list[Any]:
        return self.fake.requests_to("/api/v1/run-immy-service", "POST")

    def sessions_of(self, computer_id: int) -> list[Any]:
        return [s for s in self.fake.sessions.values() if s.computer["id"] == computer_id]

    def slack_texts(self) -> str:
        """Everything the bot ever sent to Slack (every post, edit and file), as one string."""
        parts = [repr(c.params) for c in self.slack.calls()]
        parts += [f.text for f in self.slack.files.values()]
        return "\n".join(parts)


async def post_cards(
    service: RequestService,
    client: AsyncWebClient,
    computers: list[Computer],
    *,
    offline: OfflineBehavior = OfflineBehavior.SKIP,
) -> Request:
    """Submit a request and post both cards, as the Slack listeners do."""
    draft = Draft(
        requester=REQUESTER,
        channel=REQUESTS_CHANNEL,
        software=CHROME,
        action=DesiredState.LATEST,
        targets=Targets(computers=tuple(computers)),
        options=RunOptions(offline=offline),
        reason="ticket 42",
    )
    request = await service.submit(draft)
    text, blocks = request_card(request)
    card = await client.chat_postMessage(channel=REQUESTS_CHANNEL, text=text, blocks=blocks)
    text, blocks = approval_card(request)
    approval = await client.chat_postMessage(channel=APPROVAL_CHANNEL, text=text, blocks=blocks)
    return await service.set_cards(
        request.id,
        request_card=MessageRef(channel=card["channel"], ts=card["ts"]),
        approval_card=MessageRef(channel=approval["channel"], ts=approval["ts"]),
    )


def seed_slack(fake: FakeSlack) -> None:
    fake.add_user(REQUESTER, "requester", email="req@example.com")
    fake.add_user(APPROVER, "approver", email="approver@example.com")
    fake.add_channel(REQUESTS_CHANNEL, "requests", members=[REQUESTER])
    fake.add_channel(APPROVAL_CHANNEL, "approvals", members=[APPROVER])


def slack_client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=5)],
    )


@pytest.fixture
def follower_options() -> dict[str, Any]:
    """Override in a test module (or parametrize) to change the follower's timings."""
    return {}


@pytest.fixture
async def rig(
    tmp_path: Path,
    immy: ImmySandbox,
    immy_settings: Settings,
    follower_options: dict[str, Any],
) -> AsyncIterator[Rig]:
    slack = FakeSlack()
    seed_slack(slack)
    options: dict[str, Any] = {
        "poll_seconds": 0.05,
        "max_wait": timedelta(seconds=30),
        "start_backoff_base": 0.05,
        "start_backoff_cap": 0.2,
        "min_edit_interval": 0.3,
    }
    options.update(follower_options)
    edit_interval = options.pop("min_edit_interval")
    store = await Store.open(tmp_path / "audit.db")
    service = RequestService(store, make_policy(max_targets=100))
    retry = RetryPolicy(attempts=2, base_seconds=0.005, cap_seconds=0.02, max_retry_after=2.0)
    async with slack.serve(), ImmyBotClient(immy_settings, retry=retry) as immy_client:
        client = slack_client(slack)

        async def save(request_id: int, ref: MessageRef) -> None:
            await service.set_cards(request_id, status_message=ref)

        reporter = SlackReporter(
            client,
            base_url=immy_settings.base_url,
            save_status_message=save,
            min_edit_interval=edit_interval,
            marks=service,
        )
        follower = Follower(service, ImmyBotSessions(immy_client), reporter, **options)
        await follower.start()
        try:
            yield Rig(slack, immy, client, service, store, reporter, follower, immy_client)
        finally:
            await follower.aclose()
            await reporter.aclose()
            await store.close()
    slack.assert_clean()
