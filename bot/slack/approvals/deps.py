"""What the approval buttons need, injected by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.home.deps import HomeDeps
from bot.workflow.service import RequestService


@dataclass(frozen=True)
class ApprovalsDeps:
    requests: RequestService
    client: AsyncWebClient
    home: HomeDeps  # the decider's App Home is republished after a decision made there
