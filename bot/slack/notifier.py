"""SlackNotifier: the domain's `Notifier` in Slack, the one place a workflow step becomes Slack calls.

The use-cases (`bot.workflow.service`, `ReminderTick`) call it once per step that really happened,
after their change committed; listeners only answer the person who clicked. Each step re-renders the
request's two cards, says it in a thread and counts it; the run's own steps (progress, a start
cancelled, the final summary) are the reporter's, which this delegates to unchanged.
"""

from __future__ import annotations

import logging
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import cards
from bot.slack.approvals.preview_cards import PreviewCards
from bot.slack.approvals.views import approval_added_text, escalation_text, reminder_text
from bot.slack.observe import observe_request
from bot.slack.reports.followup_views import retry_started_text
from bot.slack.text import escape
from bot.workflow.approvals import approvals_needed
from bot.workflow.lifecycle import Lifecycle
from bot.workflow.model import POLICY_ACTOR, MessageRef, Request, RequestState, SessionResult
from bot.workflow.ports import Reporter, SessionsPort
from bot.workflow.reminder_schedule import ReminderStep
from bot.workflow.rules import Reminders

log = logging.getLogger(__name__)


class CardRefs(Protocol):
    """Where the posted cards are remembered (`RequestService.set_cards`)."""

    async def set_cards(self, request_id: int, *, request_card: MessageRef | None = None,
                        approval_card: MessageRef | None = None) -> Request: ...


class SlackNotifier:
    def __init__(self, client: AsyncWebClient, refs: CardRefs, reporter: Reporter, *, approval_channel: str,
                 approval_ttl_hours: float, reminders: Reminders | None) -> None:
        self._client = client
        self._refs = refs
        self._reporter = reporter
        self._approval_channel = approval_channel
        self._ttl_hours = approval_ttl_hours
        self._reminders = reminders
        self._previews = PreviewCards(client)

    # ---- the steps people take --------------------------------------------------------------

    async def created(self, request: Request) -> None:
        """Both cards posted and remembered; a request approved at once says so in its thread."""
        observe_request(request)
        request = await self._refs.set_cards(request.id, request_card=await cards.post_request_card(self._client,
                                                                                                   request))
        try:
            approval_ref = await cards.post_approval_card(self._client, request, self._approval_channel)
        except SlackApiError as error:
            log.error("could not post the approval card", extra={"error": cards.slack_error(error)})
            await self._say(request, "The approval card could not be posted in the approval channel (is the bot "
                                     "a member?). An admin needs to look at this.")
        else:
            request = await self._refs.set_cards(request.id, approval_card=approval_ref)
        if request.auto_approved and request.decided_by == POLICY_ACTOR:
            await self._say(request, f"Approved by the policy rule *{escape(request.decision_reason or '')}* "
                                     "— starting.")
        elif request.auto_approved:
            await self._say(request, "Auto-approved as an approver's preview (detection only) — starting.")

    async def approval_added(self, request: Request, approver: str) -> None:
        await cards.refresh_cards(self._client, request)  # the card shows "1 of 2"
        await self._say(request, approval_added_text(request, approver, approvals_needed=approvals_needed(request),
                                                     approved_by=request.approved_by))

    async def decided(self, request: Request, actor: str) -> None:
        await cards.refresh_cards(self._client, request)
        if request.state is RequestState.DENIED:
            await self._say(request, f"Denied by <@{actor}>: {escape(request.decision_reason or '')}")
        else:
            await self._say(request, f"Approved by <@{actor}> — starting.")
        observe_request(request)

    async def cancelled(self, request: Request, actor: str) -> None:
        await cards.refresh_cards(self._client, request)
        tail = " — stopping its ImmyBot sessions" if request.state is RequestState.RUNNING else ""
        await self._say(request, f"Cancelled by <@{actor}>{tail}.")
        observe_request(request)

    # ---- the steps the workflow takes on its own --------------------------------------------

    async def expired(self, request: Request) -> None:
        """Both cards show it; the requester is told in the thread."""
        observe_request(request)
        await cards.refresh_cards(self._client, request)
        ttl = request.rule.ttl_hours if request.rule is not None else self._ttl_hours
        await self._say(request, f"<@{request.requester}> request #{request.id} expired: nobody decided within "
                                 f"{ttl:g} h. Submit it again with `/immy` if it is still needed.")

    async def reminded(self, request: Request, steps: tuple[ReminderStep, ...]) -> None:
        """Each step a reply in the approval card's thread, mentioning the rule's approvers (users `<@U…>`,
        groups `<!subteam^S…>`), then `escalate_to`."""
        reminders = self._reminders
        if reminders is None:
            return
        approvers = list(request.rule.approvers) if request.rule is not None else []
        for step in steps:
            if step.kind == "remind":
                text = reminder_text(request, approvers, number=step.number, of=reminders.repeat,
                                     approvals_needed=approvals_needed(request), approved_by=request.approved_by)
            else:
                text = escalation_text(request, sorted(reminders.escalate_to), reminders=reminders.repeat)
            await self._say_to_approvers(request, text)

    async def retried(self, request: Request, computers: int, actor: str) -> None:
        await self._say(request, retry_started_text(request, computers, actor))
        await cards.refresh_cards(self._client, request)  # the cards show it running again

    async def preview_updated(self, request: Request) -> None:
        await self._previews.show(request)

    # ---- the run's steps: the reporter's ----------------------------------------------------

    async def progress(self, request: Request, *, immybot_unavailable: bool = False) -> None:
        await self._reporter.progress(request, immybot_unavailable=immybot_unavailable)

    async def start_cancelled(self, request: Request, cancelled: list[int], not_cancelled: list[int]) -> None:
        await self._reporter.start_cancelled(request, cancelled, not_cancelled)

    async def final(self, request: Request, results: list[SessionResult]) -> None:
        await self._reporter.final(request, results)

    async def resume_summaries(self, lifecycle: Lifecycle, sessions: SessionsPort) -> None:
        await self._reporter.resume_summaries(lifecycle, sessions)

    async def recover_summary(self, request: Request, sessions: SessionsPort) -> None:
        await self._reporter.recover_summary(request, sessions)

    # ---- plumbing -----------------------------------------------------------------------------

    async def _say(self, request: Request, text: str) -> None:
        await cards.thread_reply(self._client, request, text)

    async def _say_to_approvers(self, request: Request, text: str) -> None:
        card = request.approval_card
        if card is None:
            await self._say(request, text)
            return
        try:
            await self._client.chat_postMessage(channel=card.channel, thread_ts=card.ts, text=text)
        except SlackApiError as error:
            log.warning("could not post a reminder",
                        extra={"error": cards.slack_error(error), "request_id": request.id})
