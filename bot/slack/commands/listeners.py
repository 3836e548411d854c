"""`/immy` and its sub-commands. Every reply is ephemeral; the modal opens before anything slow."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import cards
from bot.slack.commands import ids
from bot.slack.commands.deps import CommandsDeps
from bot.slack.commands.views import (
    ComputerStatus,
    audit_list,
    help_message,
    matches_list,
    refusal,
    requests_list,
    status_card,
)
from bot.slack.middleware import command_key
from bot.slack.observe import observe_refusal
from bot.slack.payloads import SlashCommand
from bot.slack.requests.listeners import open_request_modal
from bot.slack.text import escape, search_query
from bot.workflow.errors import DomainError, NotAllowed
from bot.workflow.model import RequestState
from bot.workflow.rules import NOT_IN_A_SCOPE

log = logging.getLogger(__name__)

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^@?([UW][A-Z0-9]{2,})$")
AUDIT_DEFAULT_DAYS = 7
AUDIT_MAX_DAYS = 366
AUDIT_MAX_ROWS = 10_000  # a Slack upload, not an archive: `immybot-slack audit export` has everything
NOT_A_REQUESTER = "You are not allowed to make requests. Ask an admin to add you to REQUESTERS."


def _not_allowed(deps: CommandsDeps, user: str) -> str:
    """REQUESTERS' refusal, or the policy's when no scope names them (an admin fixes a different thing)."""
    return NOT_IN_A_SCOPE if deps.policy.not_allowed_text(user) == NOT_IN_A_SCOPE else NOT_A_REQUESTER
COMMAND_CLAIM_SECONDS = 24 * 3600


def split_command(text: str) -> tuple[str, str]:
    head, _, rest = text.strip().partition(" ")
    return head.lower(), rest.strip()


def refused_text(action: str, request_id: int, error: NotAllowed) -> str:
    why = str(error).partition(": ")[2] or str(error)
    return f"You may not {action} request #{request_id}: {why}."


class Commands:
    def __init__(self, deps: CommandsDeps) -> None:
        self.deps = deps

    async def status(self, respond: AsyncRespond, query: str, user: str) -> None:
        if not query:
            text, blocks = refusal("Name a computer: `/immy status PC-ACME-01`.")
            await respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        folded = query.casefold()
        scope = await self.deps.policy.tenants(user)  # only their tenants' computers (SPEC §6)
        rows = self.deps.catalog.search_computers(query, limit=100, scope=None if scope.every else scope)
        exact = [r for r in rows if r.name.casefold() == folded]
        partial = [r for r in rows if folded in r.name.casefold()]
        chosen = exact[0] if exact else (partial[0] if len(partial) == 1 else None)
        if chosen is None:
            text, blocks = matches_list(query, [r.name for r in (partial or rows)][:20])
            await respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        detail = await self.deps.computers.get_computer(chosen.id, include_primary_person=True,
                                                        include_sessions=True)  # for "last session"
        last = max(detail.sessions, key=lambda s: s.id, default=None)
        person = detail.primary_person
        primary = (person.display_name or person.email) if person else chosen.primary_user_email
        info = ComputerStatus(
            name=detail.name or chosen.name,
            tenant=detail.tenant_name or chosen.tenant_name,
            online=detail.online if detail.online is not None else chosen.online,
            primary_user=primary,
            last_session_id=last.id if last else None,
            last_session_status=last.status if last else None,
        )
        text, blocks = status_card(info)
        await respond(text=text, blocks=blocks, response_type="ephemeral")

    async def cancel(self, respond: AsyncRespond, command: SlashCommand, arg: str) -> None:
        number = arg.removeprefix("#").strip()
        if not number.isdigit():
            text, blocks = refusal("Give a request number: `/immy cancel 42`.")
            await respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        request_id = int(number)
        try:
            decided = await self.deps.requests.decide(
                "cancel", request_id, command.user_id, dedup_key=f"cancel:{command.trigger_id}"
            )
        except NotAllowed as error:
            observe_refusal("cancel")
            text, blocks = refusal(refused_text("cancel", request_id, error))
            await respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        except DomainError as error:
            text, blocks = refusal(str(error))
            await respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        request = decided.request  # the use-case cancelled its sessions (or preview) and told the thread
        done = "Cancelling the running sessions of" if request.state is RequestState.RUNNING else "Cancelled"
        await respond(text=f"{done} request #{request.id}.", response_type="ephemeral")

    async def audit(self, client: AsyncWebClient, respond: AsyncRespond, command: SlashCommand, args: str) -> None:
        if not await self.deps.policy.is_approver(command.user_id):
            text, blocks = refusal("Only approvers can read the audit log.")
            await respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        who: str | None = None
        days = AUDIT_DEFAULT_DAYS
        for token in args.split():
            mention = _MENTION.match(token)
            if mention:
                who = mention.group(1) or mention.group(2)
            elif token.isdigit() and 0 < int(token) <= AUDIT_MAX_DAYS:
                days = int(token)
            else:
                text, blocks = refusal(f"I don't understand “{escape(token)}”. Use `/immy audit [@user] [days]`.")
                await respond(text=text, blocks=blocks, response_type="ephemeral")
                return
        since = datetime.now(UTC) - timedelta(days=days)
        rows = await self.deps.requests.audit_rows(since=since, actor=who, limit=AUDIT_MAX_ROWS)
        text, blocks = audit_list(list(reversed(rows)))
        await respond(text=text, blocks=blocks, response_type="ephemeral")
        channel = await cards.dm_channel(client, command.user_id)
        scope = f" for <@{who}>" if who else ""
        await client.files_upload_v2(
            channel=channel,
            filename=ids.AUDIT_CSV_FILENAME,
            content=self.deps.audit_csv(rows),
            title=f"Audit log, last {days} days",
            initial_comment=f"Audit rows of the last {days} days{scope} ({len(rows)} rows)."
            + (f" Only the newest {AUDIT_MAX_ROWS:,}: the full log is `immybot-slack audit export`."
               if len(rows) >= AUDIT_MAX_ROWS else ""),
        )


def register(app: AsyncApp, deps: CommandsDeps) -> None:
    commands = Commands(deps)

    async def first_delivery(body: dict[str, Any]) -> bool:
        """Effectful sub-commands claim their trigger durably, after the ack (a replay does nothing)."""
        key = command_key(body)
        return key is None or await deps.requests.claim(key, ttl_seconds=COMMAND_CLAIM_SECONDS)

    @app.command(ids.COMMAND)
    async def immy(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        """The modal opens without touching the store: nothing durable sits between the ack and views.open."""
        command = SlashCommand.model_validate(body)
        sub, rest = split_command(command.text)
        if sub in ("", "install"):
            await ack()
            if not await deps.policy.may_request(command.user_id):
                observe_refusal("requester")
                text, blocks = refusal(_not_allowed(deps, command.user_id))
                await respond(text=text, blocks=blocks, response_type="ephemeral")
                return
            await open_request_modal(deps.modal, client, trigger_id=command.trigger_id,
                                     channel_id=command.channel_id, prefill=rest)
        elif sub == "requests":
            mine = await deps.policy.visible(command.user_id, await deps.requests.recent_for(command.user_id, 10))
            text, blocks = requests_list(mine)
            await ack(text=text, blocks=blocks)
        elif sub == "status":
            await ack()
            if not await deps.policy.may_request(command.user_id):  # computers are for requesters' eyes
                observe_refusal("requester")
                text, blocks = refusal(_not_allowed(deps, command.user_id))
                await respond(text=text, blocks=blocks, response_type="ephemeral")
                return
            await commands.status(respond, search_query(rest), command.user_id)
        elif sub == "cancel":
            await ack()
            if await first_delivery(body):
                await commands.cancel(respond, command, rest)
        elif sub == "audit":
            await ack()
            if await first_delivery(body):
                await commands.audit(client, respond, command, rest)
        else:
            text, blocks = help_message()
            await ack(text=text, blocks=blocks)
