"""The summary's follow-up buttons (SPEC §7): "Retry failed" and each failed computer's "Show log".

Both answer the clicker only (ephemerally; a long log also goes to their DM as a file). A retry that
starts says so once in the thread, and the starter takes it from there like an approved run.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack import cards
from bot.slack.observe import observe_refusal
from bot.slack.payloads import Action, BlockActions
from bot.slack.reports import ids
from bot.slack.reports.deps import FollowUpsDeps
from bot.slack.reports.followup_views import (
    log_file_text,
    log_message,
    log_sent_text,
    retry_refused_text,
    show_log_refused_text,
)
from bot.workflow.errors import BackendRejected, BackendUnavailable, RequestNotFound
from bot.workflow.model import Request
from bot.workflow.retry import RetryRefusal

log = logging.getLogger(__name__)

NOT_OURS = "That button does not name a request of this bot."


def _value(action: Action) -> str:
    """A button's value, or a static select's picked option's."""
    if action.value:
        return action.value
    picked = (action.model_extra or {}).get("selected_option")
    return str(picked.get("value") or "") if isinstance(picked, dict) else ""


def _pair(action: Action) -> tuple[int, int] | None:
    pair = ids.parse_pair(_value(action))
    if pair is None or not pair[1].isdigit():
        return None
    return pair[0], int(pair[1])


class FollowUpButtons:
    def __init__(self, deps: FollowUpsDeps) -> None:
        self.deps = deps

    async def _tell(self, click: BlockActions, text: str, blocks: list[dict] | None = None) -> None:
        await cards.ephemeral(self.deps.client, channel=click.container.channel_id, user=click.user.id,
                              text=text, blocks=blocks)  # fmt: skip

    async def retry(self, click: BlockActions) -> None:
        pair = _pair(click.actions[0])
        if pair is None:
            await self._tell(click, NOT_OURS)
            return
        request_id, attempt = pair
        try:
            answer = await self.deps.followups.retry_failed(request_id, attempt, click.user.id)
        except RequestNotFound as error:
            await self._tell(click, str(error))
            return
        if answer.refusal is not None:
            if answer.refusal in (RetryRefusal.NOT_ALLOWED, RetryRefusal.WINDOW_PASSED):
                observe_refusal("retry")
            await self._tell(click, retry_refused_text(answer.request, answer.refusal,
                                                       window_hours=self.deps.retry_window_hours))  # fmt: skip
            return
        log.info("retry of %d computer(s) as attempt %d", len(answer.computers), answer.request.attempt,
                 extra={"request_id": request_id})  # fmt: skip

    async def show_log(self, click: BlockActions) -> None:
        pair = _pair(click.actions[0])
        if pair is None:
            await self._tell(click, NOT_OURS)
            return
        request_id, session_id = pair
        try:
            request, allowed = await self.deps.followups.may_see_log(request_id, session_id, click.user.id)
        except RequestNotFound as error:
            await self._tell(click, str(error))
            return
        if not allowed:
            observe_refusal("show_log")
            await self._tell(click, show_log_refused_text(request))
            return
        try:
            messages = await self.deps.session_logs(session_id)
        except (BackendUnavailable, BackendRejected) as error:
            log.warning("could not read session %s's log: %s", session_id, error)
            await self._tell(click, f"ImmyBot did not give the log of session {session_id} just now: try again "
                                    "in a minute, or open the session in ImmyBot.")
            return
        shown = log_message(request, _computer_name(request, session_id), session_id, messages)
        await self._tell(click, shown.text, shown.blocks)
        if shown.too_long:
            await self._send_file(click, request, session_id, messages)

    async def _send_file(self, click: BlockActions, request: Request, session_id: int, messages: list[str]) -> None:
        try:
            channel = await cards.dm_channel(self.deps.client, click.user.id)
            await self.deps.client.files_upload_v2(
                channel=channel,
                content=log_file_text(messages),
                filename=ids.LOG_FILENAME.format(id=request.id, session=session_id),
                title=f"{request.label} session {session_id} log",
                initial_comment=log_sent_text(request, session_id),
                request_file_info=False,
            )
        except Exception:
            log.exception("could not send the log file to the clicker's DM")


def _computer_name(request: Request, session_id: int) -> str:
    names = {c.id: c.name for c in request.targets.computers}
    session = next((s for s in request.sessions if s.session_id == session_id), None)
    if session is None or session.computer_id is None:
        return "an earlier attempt" if session is None else "unknown computer"
    return names.get(session.computer_id, f"computer {session.computer_id}")


def register(app: AsyncApp, deps: FollowUpsDeps) -> None:
    buttons = FollowUpButtons(deps)

    @app.action(ids.RETRY_ACTION)
    async def retry_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await buttons.retry(BlockActions.model_validate(body))

    @app.action(ids.SHOW_LOG_ACTION)
    async def show_log_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await buttons.show_log(BlockActions.model_validate(body))

    @app.action(ids.SHOW_LOG_PICK_ACTION)
    async def show_log_picked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await buttons.show_log(BlockActions.model_validate(body))
