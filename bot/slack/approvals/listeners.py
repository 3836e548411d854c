"""Approve / Deny on the approval card (and on App Home), and the deny-reason modal.

Parse, call the use-case (which tells the decision once, through the notifier, and starts the run), answer
the clicker: refusals and stale clicks are said to them alone; a decision made on App Home republishes
their Home."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import cards
from bot.slack.approvals import ids
from bot.slack.approvals.deps import ApprovalsDeps
from bot.slack.approvals.preview_cards import register_preview
from bot.slack.approvals.views import deny_reason_modal
from bot.slack.commands.listeners import refused_text
from bot.slack.home.listeners import refresh_home
from bot.slack.observe import observe_refusal
from bot.slack.payloads import BlockActions
from bot.workflow.approvals import AlreadyApproved
from bot.workflow.errors import DomainError, IllegalTransition, NotAllowed, RequestNotFound
from bot.workflow.model import MessageRef

log = logging.getLogger(__name__)


def _request_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class Decisions:
    def __init__(self, deps: ApprovalsDeps) -> None:
        self.deps = deps

    async def _tell(self, click: BlockActions, text: str) -> None:
        await cards.ephemeral(self.deps.client, channel=click.container.channel_id, user=click.user.id, text=text)

    async def _stale(self, click: BlockActions, error: IllegalTransition) -> None:
        """A stale click or a lost race: say what happened and re-render the card to the current state."""
        await self._tell(click, str(error))
        try:
            await cards.refresh_cards(self.deps.client, await self.deps.requests.get(error.request_id))
        except DomainError:
            pass

    async def approve(self, click: BlockActions) -> None:
        action = click.actions[0]
        request_id = _request_id(action.value)
        if request_id is None:
            await self._tell(click, "That button does not name a request.")
            return
        where = click.container.message_ts or click.container.view_id or ""
        user = click.user.id
        # One click, one key: App Home keeps its view id when republished, so the view id alone would
        # make every later Home click replay the first one's result (approved or refused).
        click_id = f"{where}:{action.action_id}:{user}:{action.action_ts}"
        try:
            await self.deps.requests.decide("approve", request_id, user, dedup_key=click_id)
        except NotAllowed as error:
            observe_refusal("decision")
            await self._tell(click, refused_text("approve", request_id, error))
            return
        except IllegalTransition as error:
            await self._stale(click, error)
            return
        except (RequestNotFound, AlreadyApproved) as error:
            await self._tell(click, str(error))
            return
        if click.container.type == "view":  # clicked on App Home: the clicker's Home shows it
            await refresh_home(self.deps.home, user)

    async def ask_deny_reason(self, client: AsyncWebClient, click: BlockActions) -> None:
        request_id = _request_id(click.actions[0].value)
        if request_id is None:
            await self._tell(click, "That button does not name a request.")
            return
        card = None
        if click.container.channel_id and click.container.message_ts:
            card = MessageRef(channel=click.container.channel_id, ts=click.container.message_ts)
        await client.views_open(trigger_id=click.trigger_id, view=deny_reason_modal(request_id, card=card))

    async def deny(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        user = str(body["user"]["id"])
        view = body["view"]
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            request_id = int(meta["request_id"])
        except (ValueError, KeyError, TypeError):
            broken = "This form is broken; click Deny again."
            await ack(response_action="errors", errors={ids.DENY_REASON_BLOCK: broken})
            return
        reason = str(
            (((view.get("state") or {}).get("values") or {}).get(ids.DENY_REASON_BLOCK) or {})
            .get(ids.DENY_REASON_ACTION, {}).get("value") or ""
        ).strip()
        if not reason:
            await ack(response_action="errors", errors={ids.DENY_REASON_BLOCK: "Say why it is denied."})
            return
        try:  # acked once decided, before the decision is told
            await self.deps.requests.decide("deny", request_id, user, reason=reason, dedup_key=f"deny:{view['id']}",
                                            answer=ack)
        except NotAllowed as error:
            observe_refusal("decision")
            await ack(response_action="errors",
                      errors={ids.DENY_REASON_BLOCK: refused_text("deny", request_id, error)})
            return
        except DomainError as error:
            await ack(response_action="errors", errors={ids.DENY_REASON_BLOCK: str(error)})
            if isinstance(error, IllegalTransition):
                await cards.refresh_cards(self.deps.client, await self.deps.requests.get(request_id))
            return
        if "ts" not in meta:  # no card in the metadata: Deny was clicked on App Home
            await refresh_home(self.deps.home, user)


def register(app: AsyncApp, deps: ApprovalsDeps) -> None:
    decisions = Decisions(deps)
    register_preview(app, deps)

    @app.action(ids.APPROVE_ACTION)
    async def approve_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await decisions.approve(BlockActions.model_validate(body))

    @app.action(ids.DENY_ACTION)
    async def deny_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await decisions.ask_deny_reason(client, BlockActions.model_validate(body))

    @app.view(ids.DENY_MODAL)
    async def deny_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        await decisions.deny(ack, body)
