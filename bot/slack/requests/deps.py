"""What the request modal needs, injected by the composition root."""

from __future__ import annotations

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
    max_targets: int
