"""What the request modal needs, injected by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.catalog_port import CatalogPort
from bot.workflow.policy import Policy
from bot.workflow.service import RequestService


@dataclass(frozen=True)
class RequestsDeps:
    requests: RequestService
    policy: Policy
    client: AsyncWebClient
    catalog: CatalogPort
    approval_channel: str
    max_targets: int
    start_in_background: Callable[[int], None]  # an approved request's sessions start (returns at once)
    start_preview: Callable[[int], None] = lambda _request_id: None  # SPEC §8 (returns at once)
