"""App Home: the user's recent requests and, for approvers, the pending ones with buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp

from bot.slack.home.views import home_view, not_allowed_view

if TYPE_CHECKING:
    from bot.services import Services

RECENT = 10
PENDING = 20


async def publish_home(services: Services, user: str) -> None:
    """Requests are shown to requesters, pending ones to approvers; anyone else (or anyone whose group
    lookup failed) gets a polite refusal and no data."""
    approver = await services.policy.is_approver(user)
    requester = await services.policy.may_request(user)
    if not approver and not requester:
        await services.client.views_publish(user_id=user, view=not_allowed_view())
        return
    mine = await services.service.recent_for(user, RECENT) if requester else []
    pending = await services.service.pending(PENDING) if approver else None
    await services.client.views_publish(user_id=user, view=home_view(mine, pending))


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        await publish_home(services, str(event["user"]))
