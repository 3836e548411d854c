"""What App Home needs, injected by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.workflow.policy import Policy
from bot.workflow.service import RequestService


@dataclass(frozen=True)
class HomeDeps:
    requests: RequestService
    policy: Policy
    client: AsyncWebClient
