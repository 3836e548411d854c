"""App Home: the user's recent requests and, for approvers, the pending ones with buttons."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack.home.deps import HomeDeps
from bot.slack.home.views import home_view, not_allowed_view

log = logging.getLogger(__name__)

RECENT = 10
PENDING = 20


async def refresh_home(deps: HomeDeps, user: str) -> None:
    """Republish after a change; a failure is logged (the decision itself already happened)."""
    try:
        await publish_home(deps, user)
    except Exception:
        log.warning("could not refresh App Home", exc_info=True)


async def publish_home(deps: HomeDeps, user: str) -> None:
    """Requests are shown to requesters, pending ones to approvers; anyone else (or anyone whose group
    lookup failed) gets a polite refusal and no data."""
    approver = await deps.policy.is_approver(user)
    requester = await deps.policy.may_request(user)
    # with a policy, a rule's approvers (not only APPROVERS) see the requests they may decide
    decidable = await deps.policy.decidable(user, await deps.requests.pending(PENDING)) if deps.policy.doc.rules \
        else None
    if not approver and not requester and not decidable:
        await deps.client.views_publish(user_id=user, view=not_allowed_view())
        return
    mine = await deps.policy.visible(user, await deps.requests.recent_for(user, RECENT)) if requester else []
    if decidable is not None:
        pending = decidable if approver or decidable else None
    else:
        pending = await deps.requests.pending(PENDING) if approver else None
    await deps.client.views_publish(user_id=user, view=home_view(mine, pending))


def register(app: AsyncApp, deps: HomeDeps) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        await publish_home(deps, str(event["user"]))
