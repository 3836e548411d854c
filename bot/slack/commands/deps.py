"""What `/immy` needs, injected by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.catalog_port import CatalogPort
from bot.slack.requests.deps import RequestsDeps
from bot.workflow.policy import Policy
from bot.workflow.service import RequestService

if TYPE_CHECKING:
    from bot.slack.computer_port import ComputerPort


@dataclass(frozen=True)
class CommandsDeps:
    requests: RequestService
    policy: Policy
    client: AsyncWebClient
    catalog: CatalogPort
    computers: ComputerPort  # `/immy status` reads one computer live
    audit_csv: Callable[[list[dict[str, Any]]], str]  # audit rows as `audit export --format csv` writes them
    modal: RequestsDeps  # `/immy` opens the request modal
