"""What the summary's follow-up buttons (Retry failed, Show log) need, injected by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.workflow.retry_run import FollowUps


class SessionLogs(Protocol):
    async def __call__(self, session_id: int) -> list[str]:
        """The last log messages of one session, messages only: never script parameters or their values."""
        ...


@dataclass(frozen=True)
class FollowUpsDeps:
    followups: FollowUps
    client: AsyncWebClient
    session_logs: SessionLogs
    retry_window_hours: float
