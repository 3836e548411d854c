"""The preview on the approval card (SPEC §8): shown in place when it ends, its details modal, its CSV.

Plumbing only; `preview_views` builds what is shown. Slack failures are logged, never raised into the
follower that asked."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import cards
from bot.slack.approvals import ids
from bot.slack.approvals.deps import ApprovalsDeps
from bot.slack.approvals.preview_views import preview_csv, preview_details_modal, preview_needs_csv
from bot.slack.payloads import BlockActions
from bot.workflow.errors import DomainError
from bot.workflow.model import Request
from bot.workflow.preview import PreviewState

log = logging.getLogger(__name__)


class PreviewCards:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def show(self, request: Request) -> None:
        """The approval card (and the request card) re-rendered with the preview; past the details modal's
        limit, every computer's verdict as a CSV in the approval card's thread."""
        await cards.refresh_cards(self._client, request)
        preview, card = request.preview, request.approval_card
        if preview is None or card is None or preview.state is PreviewState.UNAVAILABLE:
            return
        if not preview_needs_csv(preview):
            return
        try:
            await self._client.files_upload_v2(
                channel=card.channel, thread_ts=card.ts, content=preview_csv(preview),
                filename=ids.PREVIEW_CSV_FILENAME.format(id=request.id), title=f"{request.label} preview",
                request_file_info=False,
            )  # fmt: skip
        except SlackApiError as error:
            log.warning("could not attach the preview CSV", extra={"error": cards.slack_error(error)})


def register_preview(app: AsyncApp, deps: ApprovalsDeps) -> None:
    @app.action(ids.PREVIEW_DETAILS_ACTION)
    async def details_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click = BlockActions.model_validate(body)
        value = click.actions[0].value or ""
        try:
            request = await deps.requests.get(int(value)) if value.isdigit() else None
        except DomainError:
            request = None
        if request is None or request.preview is None:
            await cards.ephemeral(client, channel=click.container.channel_id, user=click.user.id,
                                  text="That preview is not available.")  # fmt: skip
            return
        await client.views_open(trigger_id=click.trigger_id, view=preview_details_modal(request, request.preview))
