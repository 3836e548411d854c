"""The approval card in APPROVAL_CHANNEL (and its decided form), and the deny-reason modal."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    InputBlock,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from bot.slack import blocks as kit
from bot.slack.approvals import ids
from bot.slack.text import mention, plural
from bot.workflow.model import MessageRef, Request, RequestState

DENY_REASON_MAX = 500


def approval_buttons(request: Request, *, confirm_over: int = 5) -> ActionsBlock:
    """Approve (primary; a confirm dialog past `confirm_over` computers) and Deny (danger)."""
    count = len(request.targets.computers)
    confirm = None
    if count > confirm_over:
        confirm = ConfirmObject(
            title=kit.plain(f"Approve {request.label}?"),
            text=kit.plain(f"This runs {request.action.label.lower()} on {plural(count, 'computer')}."),
            confirm=kit.plain("Approve"),
            deny=kit.plain("Back"),
        )
    return ActionsBlock(
        block_id=ids.buttons_block_id(request.id),
        elements=[
            ButtonElement(
                text=kit.plain("Approve"),
                action_id=ids.APPROVE_ACTION,
                value=str(request.id),
                style="primary",
                confirm=confirm,
            ),
            ButtonElement(text=kit.plain("Deny"), action_id=ids.DENY_ACTION, value=str(request.id), style="danger"),
        ],
    )


def approval_card(request: Request, *, confirm_over: int = 5) -> tuple[str, list[dict]]:
    """The card approvers act on; once decided, the same builder shows who and when, without buttons."""
    pending = request.state is RequestState.PENDING
    lead = "Approval needed" if pending else "Request"
    text = f"{lead}: {kit.fallback_title(request)}, requested by {mention(request.requester)}"
    blocks: list[Block] = [
        kit.section(f"*{lead}* · {kit.request_title(request)}\nRequested by {mention(request.requester)}"),
        kit.section(kit.targets_text(request.targets)),
        kit.section(f"{kit.options_text(request)}\n{kit.reason_text(request)}"),
    ]
    if pending:
        blocks.append(approval_buttons(request, confirm_over=confirm_over))
    else:
        blocks.append(kit.context(kit.state_line(request)))
    return kit.message(text, blocks)


def deny_metadata(request_id: int, card: MessageRef | None) -> str:
    data: dict[str, object] = {"request_id": request_id}
    if card:
        data.update(channel=card.channel, ts=card.ts)
    return json.dumps(data, separators=(",", ":"))


def deny_reason_modal(request_id: int, *, card: MessageRef | None) -> dict:
    """Asks the approver why; private_metadata carries the request id and the approval card's place."""
    view = View(
        type="modal",
        callback_id=ids.DENY_MODAL,
        title=kit.plain(f"Deny #{request_id}"),
        submit=kit.plain("Deny"),
        close=kit.plain("Back"),
        private_metadata=deny_metadata(request_id, card),
        blocks=[
            InputBlock(
                block_id=ids.DENY_REASON_BLOCK,
                label=kit.plain("Why is it denied?"),
                element=PlainTextInputElement(
                    action_id=ids.DENY_REASON_ACTION, multiline=True, max_length=DENY_REASON_MAX
                ),
                hint=kit.plain("The requester sees this in the request's thread."),
            )
        ],
    )
    return view.to_dict()
