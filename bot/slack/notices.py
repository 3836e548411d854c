"""Steps the workflow takes on its own, told in Slack: an undecided request expired, was reminded or
escalated."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import cards
from bot.slack.approvals.views import escalation_text, reminder_text
from bot.slack.observe import observe_request
from bot.workflow.approvals import Reminded
from bot.workflow.model import Request
from bot.workflow.rules import Reminders

log = logging.getLogger(__name__)


class ExpiryNotices:
    """The expiry loop's callback: both cards show it, the requester is told in the thread."""

    def __init__(self, client: AsyncWebClient, ttl_hours: float) -> None:
        self._client = client
        self._ttl_hours = ttl_hours

    def _ttl(self, request: Request) -> float:
        return request.rule.ttl_hours if request.rule is not None else self._ttl_hours

    async def expired(self, request: Request) -> None:
        observe_request(request)
        await cards.refresh_cards(self._client, request)
        await cards.thread_reply(
            self._client, request,
            f"<@{request.requester}> request #{request.id} expired: nobody decided within {self._ttl(request):g} h. "
            "Submit it again with `/immy` if it is still needed.",
        )


class ReminderNotices:
    """The reminder tick's callback: each step is a reply in the approval card's thread, mentioning the
    rule's approvers (users `<@U…>`, groups `<!subteam^S…>`), then `escalate_to`."""

    def __init__(self, client: AsyncWebClient, reminders: Reminders | None) -> None:
        self._client = client
        self._reminders = reminders

    async def reminded(self, done: Reminded) -> None:
        request, reminders = done.request, self._reminders
        if reminders is None:
            return
        approvers = list(request.rule.approvers) if request.rule is not None else []
        needed = request.rule.approvals if request.rule is not None else 1
        for step in done.steps:
            if step.kind == "remind":
                text = reminder_text(request, approvers, number=step.number, of=reminders.repeat,
                                     approvals_needed=needed, approved_by=request.approved_by)
            else:
                text = escalation_text(request, sorted(reminders.escalate_to), reminders=reminders.repeat)
            await self._say(request, text)

    async def _say(self, request: Request, text: str) -> None:
        card = request.approval_card
        if card is None:
            await cards.thread_reply(self._client, request, text)
            return
        try:
            await self._client.chat_postMessage(channel=card.channel, thread_ts=card.ts, text=text)
        except SlackApiError as error:
            log.warning("could not post a reminder",
                        extra={"error": cards.slack_error(error), "request_id": request.id})
