"""Steps the workflow takes on its own, told in Slack: an undecided request expired."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import cards
from bot.slack.observe import observe_request
from bot.workflow.model import Request


class ExpiryNotices:
    """The expiry loop's callback: both cards show it, the requester is told in the thread."""

    def __init__(self, client: AsyncWebClient, ttl_hours: float) -> None:
        self._client = client
        self._ttl_hours = ttl_hours

    async def expired(self, request: Request) -> None:
        observe_request(request)
        await cards.refresh_cards(self._client, request)
        await cards.thread_reply(
            self._client, request,
            f"<@{request.requester}> request #{request.id} expired: nobody decided within {self._ttl_hours:g} h. "
            "Submit it again with `/immy` if it is still needed.",
        )
