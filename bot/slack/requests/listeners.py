"""Request modal listeners: open it, answer its typeaheads, take its submission (the use-case posts the cards)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import cards
from bot.slack.observe import observe_refusal
from bot.slack.requests import ids
from bot.slack.requests.deps import RequestsDeps
from bot.slack.requests.form import FormError, parse_request_form
from bot.slack.requests.submission import build_draft
from bot.slack.requests.views import computer_options, request_modal, software_options
from bot.slack.text import search_query
from bot.workflow.errors import InvalidSubmission, NotAllowed

log = logging.getLogger(__name__)

OPTIONS_LIMIT = 100
TRIGGER_USED = "exchanged_trigger_id"


async def open_request_modal(deps: RequestsDeps, client: AsyncWebClient, *, trigger_id: str, channel_id: str,
                             prefill: str) -> None:
    """`views.open` at once (the trigger lives 3 s); the in-memory catalog may preselect the one match.

    A replayed `/immy` (same single-use trigger) gets `exchanged_trigger_id`: the modal is already
    open, so that is not an error worth telling anyone about.
    """
    initial = None
    if query := search_query(prefill):
        matches = deps.catalog.search_software(query, limit=2)
        if len(matches) == 1:
            option = software_options([matches[0].to_software()])[0]
            initial = (option["value"], option["text"]["text"])
    view = request_modal(channel_id=channel_id, prefill=prefill, max_targets=deps.max_targets,
                         initial_software=initial)
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        if cards.slack_error(error) != TRIGGER_USED:
            raise
        log.info("modal already opened for this trigger (a replayed command)", extra={"trigger_id": trigger_id})


def _policy_errors(error: InvalidSubmission | NotAllowed, filled: list[str]) -> dict[str, str]:
    if isinstance(error, NotAllowed):
        return {ids.SOFTWARE_BLOCK: str(error)}
    if error.field == "targets":
        return {filled[0] if filled else ids.COMPUTERS_BLOCK: error.message}
    if error.field == "reason":
        return {ids.REASON_BLOCK: error.message}
    return {ids.SOFTWARE_BLOCK: error.message}


def register(app: AsyncApp, deps: RequestsDeps) -> None:
    async def typed(body: dict[str, Any]) -> str:
        """What was typed, capped; empty (no options at all) for someone not allowed to request."""
        query = search_query(str(body.get("value") or ""))
        user = str((body.get("user") or {}).get("id") or "")
        if not query or not user or not await deps.policy.may_request(user):
            return ""
        return query

    @app.options(ids.SOFTWARE_ACTION)
    async def software_suggestions(ack: AsyncAck, body: dict[str, Any]) -> None:
        query = await typed(body)
        items = deps.catalog.search_software(query, limit=OPTIONS_LIMIT) if query else []
        await ack(options=software_options(items))  # the search results as they are: no model per row

    @app.options(ids.COMPUTERS_ACTION)
    async def computer_suggestions(ack: AsyncAck, body: dict[str, Any]) -> None:
        query = await typed(body)
        if not query:
            rows = []
        else:  # only the person's tenants (SPEC §6), filtered inside the ranked search before the limit
            scope = await deps.policy.tenants(str(body["user"]["id"]))
            rows = deps.catalog.search_computers(query, limit=OPTIONS_LIMIT, scope=None if scope.every else scope)
        await ack(options=computer_options([(r.id, r.name, r.tenant_name, r.online) for r in rows]))

    @app.view(ids.REQUEST_MODAL)
    async def request_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        user = str(body["user"]["id"])
        view = body["view"]
        filled: list[str] = []
        try:  # the gate first: nobody's email or computers are looked up for someone refused anyway
            await deps.requests.admit(user)
        except (InvalidSubmission, NotAllowed) as error:  # audited by the service
            observe_refusal("submission")
            await ack(response_action="errors", errors=_policy_errors(error, filled))
            return
        try:
            form = parse_request_form(view)
            filled = form.target_blocks
            draft = await build_draft(deps, form, user)
        except FormError as error:
            await deps.requests.refuse(user, error.reason)
            observe_refusal("submission")
            await ack(response_action="errors", errors=error.errors)
            return
        try:  # acked once recorded; then (once) the cards are posted and the run or preview started
            await deps.requests.submit(draft, dedup_key=f"view:{view['id']}", answer=ack)
        except (InvalidSubmission, NotAllowed) as error:  # already audited by the service
            observe_refusal("submission")
            await ack(response_action="errors", errors=_policy_errors(error, filled))
            return
