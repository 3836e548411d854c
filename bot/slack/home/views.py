"""The App Home tab: the user's recent requests and, for approvers, the pending ones with buttons."""

from __future__ import annotations

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack import blocks as kit
from bot.slack.approvals.views import approval_buttons
from bot.slack.commands.views import request_row
from bot.slack.home import ids
from bot.slack.text import mention, more
from bot.workflow.model import Request

MY_REQUESTS_SHOWN = 15
PENDING_SHOWN = 25  # 3 blocks each: stays well under the 100-block limit


def home_view(user_requests: list[Request], pending: list[Request] | None) -> dict:
    """The home tab; `pending=None` for someone who is not an approver (no approvals section at all)."""
    blocks: list[Block] = [
        kit.header("ImmyBot requests"),
        kit.context("Type `/immy` in any channel to request software. `/immy help` lists every command.",
                    block_id=ids.NEW_REQUEST_HINT_BLOCK),
        kit.header("Your recent requests"),
    ]
    if user_requests:
        rows = [request_row(r) for r in user_requests[:MY_REQUESTS_SHOWN]]
        blocks.append(kit.section("\n".join(rows), block_id=ids.MY_REQUESTS_BLOCK))
        rest = more(len(user_requests), MY_REQUESTS_SHOWN)
        if rest:
            blocks.append(kit.context(f"{rest}: `/immy requests` lists them."))
    else:
        blocks.append(kit.section("None yet.", block_id=ids.MY_REQUESTS_BLOCK))
    if pending is not None:
        blocks.append(kit.divider())
        blocks.append(kit.header(f"Waiting for approval ({len(pending)})"))
        if not pending:
            blocks.append(kit.section("Nothing is waiting for a decision.", block_id=ids.PENDING_HEADER_BLOCK))
        for request in pending[:PENDING_SHOWN]:
            blocks.append(
                kit.section(
                    f"{kit.request_title(request)} · by {mention(request.requester)}\n"
                    f"{kit.targets_text(request.targets, shown=5)}",
                    block_id=ids.pending_block_id(request.id),
                )
            )
            blocks.append(kit.context(kit.reason_text(request, limit=300).replace("\n", " ")))
            blocks.append(approval_buttons(request))
        rest = more(len(pending), PENDING_SHOWN)
        if rest:
            blocks.append(kit.context(f"{rest} waiting: decide these first, or see the approval channel."))
    return View(type="home", callback_id=ids.HOME_CALLBACK, blocks=blocks).to_dict()


def not_allowed_view() -> dict:
    """The home tab of someone who may not request: what to do about it, and nothing else."""
    blocks: list[Block] = [
        kit.header("ImmyBot requests"),
        kit.section(":no_entry: You are not allowed to make requests. Ask an admin to add you to REQUESTERS.",
                    block_id=ids.NOT_ALLOWED_BLOCK),
    ]
    return View(type="home", callback_id=ids.HOME_CALLBACK, blocks=blocks).to_dict()
