"""What the request modal needs, injected by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient

from bot.workflow.policy import Policy
from bot.workflow.service import RequestService

if TYPE_CHECKING:
    from bot.immybot.catalog import CatalogCache


@dataclass(frozen=True)
class RequestsDeps:
    requests: RequestService
    policy: Policy
    client: AsyncWebClient
    catalog: CatalogCache
    approval_channel: str
    max_targets: int
    start_in_background: Callable[[int], None]  # an approved request's sessions start (returns at once)
