"""The approval card in APPROVAL_CHANNEL (and its decided form), and the deny-reason modal."""

from __future__ import annotations

import json
from collections.abc import Sequence

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
from bot.slack.approvals.preview_views import preview_blocks
from bot.slack.schedule_text import when_text
from bot.slack.text import clip, mention, mention_any, one_line, plural
from bot.workflow.model import MessageRef, Request, RequestState
from bot.workflow.preview import Preview
from bot.workflow.schedule import Schedule

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


def approvals_text(needed: int, approved_by: Sequence[str]) -> str:
    """`1 of 2 approvals: <@U0A>` (distinct approvers, in the order they approved)."""
    given = list(dict.fromkeys(approved_by))
    who = f": {', '.join(mention(u) for u in given)}" if given else ""
    return f"{len(given)} of {plural(needed, 'approval')}{who}"


def approval_card(
    request: Request,
    *,
    confirm_over: int = 5,
    rule_name: str | None = None,
    approvals_needed: int = 1,
    approved_by: Sequence[str] = (),
    approved_by_policy: str | None = None,
    schedule: Schedule | None = None,
    preview: Preview | None = None,
) -> tuple[str, list[dict]]:
    """The card approvers act on; once decided, the same builder shows who and when, without buttons.

    Policy (SPEC §6): `rule_name` is the rule that routed it; with `approvals_needed` > 1 the card shows
    "1 of 2 approvals: @A" and keeps its buttons while pending; `approved_by_policy` (a rule with
    `approvals: 0`) says it needed nobody. `schedule` says when it runs; `preview` adds ImmyBot's dry run.
    """
    preview = preview if preview is not None else request.preview  # every re-render keeps the dry run
    pending = request.state is RequestState.PENDING
    lead = "Approval needed" if pending else "Request"
    text = f"{lead}: {kit.fallback_title(request)}, requested by {mention(request.requester)}"
    when = when_text(schedule)
    blocks: list[Block] = [
        kit.section(f"*{lead}* · {kit.request_title(request)}\nRequested by {mention(request.requester)}"),
        kit.section(kit.targets_text(request.targets)),
        kit.section("\n".join(filter(None, (kit.options_text(request), when, kit.reason_text(request))))),
    ]
    rule = f"Rule: *{clip(one_line(rule_name), 150)}*" if rule_name else ""
    progress = approvals_text(approvals_needed, approved_by) if pending and approvals_needed > 1 else ""
    if rule or progress:
        blocks.append(kit.context(*(t for t in (progress, rule) if t)))
    blocks.extend(preview_blocks(request, preview))
    if approved_by_policy is not None:
        blocks.append(kit.context(f":robot_face: Approved by policy *{clip(one_line(approved_by_policy), 150)}* "
                                  "at submission: no approver needed."))
    if pending:
        blocks.append(approval_buttons(request, confirm_over=confirm_over))
    else:
        blocks.append(kit.context(kit.state_line(request)))
    return kit.message(text, blocks)


def _audience(people: Sequence[str]) -> str:
    return " ".join(mention_any(p) for p in dict.fromkeys(people)) or "approvers"


def reminder_text(request: Request, approvers: Sequence[str], *, number: int, of: int,
                  approvals_needed: int = 1, approved_by: Sequence[str] = ()) -> str:
    """A reminder in the approval card's thread, mentioning the rule's approvers (users and groups)."""
    progress = f" ({approvals_text(approvals_needed, approved_by)})" if approvals_needed > 1 else ""
    return (f":bell: Reminder {number} of {of}: {_audience(approvers)}, {request.label} from "
            f"{mention(request.requester)} still waits for a decision{progress}.")


def escalation_text(request: Request, escalate_to: Sequence[str], *, reminders: int) -> str:
    """After the last reminder: `escalate_to` are mentioned and may decide this request too."""
    return (f":rotating_light: {_audience(escalate_to)}: {request.label} from {mention(request.requester)} is "
            f"still pending after {plural(reminders, 'reminder')}. You may approve or deny it on the card.")


def approval_added_text(request: Request, approver: str, *, approvals_needed: int, approved_by: Sequence[str]) -> str:
    """The approval card's thread when one of several approvals is recorded (`approval.added`)."""
    return (f":ballot_box_with_check: {mention(approver)} approved {request.label}: "
            f"{approvals_text(approvals_needed, approved_by)}. It runs once enough approvers agree.")


def already_approved_text(request: Request) -> str:
    """The ephemeral answer to a second Approve by the same approver."""
    return f"You have already approved {request.label}; it still needs another approver. Nothing changed."


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
