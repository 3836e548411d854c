"""Shared Block Kit pieces: thin wrappers over `slack_sdk.models` and the request summary lines
that the request card, the approval card, the home tab and the lists all show the same way.

Everything returns model objects; `message()` / `to_dicts()` turn them into JSON with `.to_dict()`,
so the SDK's validators check Slack's limits, and `message()` also refuses more than 50 blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
)

from bot.slack.text import clip, escape, hhmm, mention, more, one_line, plural, truncate
from bot.workflow.model import OfflineBehavior, Outcome, RebootPreference, Request, RequestState, Targets

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SECTION_TEXT_MAX = 3000
OPTION_TEXT_MAX = 75
TARGETS_SHOWN = 20

REBOOT_LABELS = {
    RebootPreference.SUPPRESS: "Suppress reboots",
    RebootPreference.NORMAL: "Reboot if needed",
    RebootPreference.FORCE: "Force a reboot",
}
OFFLINE_LABELS = {
    OfflineBehavior.SKIP: "Skip offline computers",
    OfflineBehavior.APPLY_ON_CONNECT: "Apply when they come online",
}
OUTCOME_LABELS = {
    Outcome.PASSED: "passed",
    Outcome.FAILED: "failed",
    Outcome.PARTIAL: "partly passed",
    Outcome.TIMED_OUT: "timed out",
    Outcome.CANCELLED: "cancelled",
}


def plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text, emoji=True)


def section(text: str, *, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text), block_id=block_id)


def context(*texts: str, block_id: str | None = None) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=t) for t in texts if t], block_id=block_id)


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(truncate(text, 150)))


def divider() -> DividerBlock:
    return DividerBlock()


def option(text: str, value: str, description: str | None = None) -> Option:
    return Option(
        text=plain(truncate(one_line(text), OPTION_TEXT_MAX)),
        value=value,
        description=plain(truncate(description, OPTION_TEXT_MAX)) if description else None,
    )


def to_dicts(blocks: Sequence[Block]) -> list[dict]:
    return [block.to_dict() for block in blocks]


def message(text: str, blocks: Sequence[Block]) -> tuple[str, list[dict]]:
    """A message's (fallback text, blocks) with Slack's 50-block limit checked."""
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        raise ValueError(f"a message holds at most {MAX_MESSAGE_BLOCKS} blocks, got {len(blocks)}")
    return truncate(text, 3000), to_dicts(blocks)


# ---- request summary pieces ------------------------------------------------------------------


def software_text(request: Request) -> str:
    """`*7-Zip* (Global)`; the name came from ImmyBot's catalog, still escaped."""
    return f"*{clip(one_line(request.software.name), 200)}* ({request.software.catalog.value})"


def targets_text(targets: Targets, *, shown: int = TARGETS_SHOWN) -> str:
    """Computer names (`and N more` beyond `shown`), plus the person or email they came from."""
    names = [clip(one_line(c.name), 80) for c in targets.computers[:shown]]
    listing = ", ".join(names) if names else "no computers"
    rest = more(len(targets.computers), shown)
    if rest:
        listing += f" {rest}"
    count = plural(len(targets.computers), "computer")
    origin = ""
    if targets.person:  # the person, never their profile email (it may be hidden in the workspace)
        origin = f" of {mention(targets.person)}"
    elif targets.email:
        origin = f" of {clip(targets.email, 254)}"
    return f"*Targets:* {count}{origin}: {listing}"


def options_text(request: Request) -> str:
    opts = request.options
    parts = [REBOOT_LABELS[opts.reboot], OFFLINE_LABELS[opts.offline]]
    if opts.preview:
        parts.append("*Preview only* (detection only: changes nothing)")
    return "*Options:* " + " · ".join(parts)


def reason_text(request: Request, *, limit: int = 1500) -> str:
    quoted = "\n".join("&gt; " + line for line in clip(request.reason, limit).splitlines() or [""])
    return f"*Reason:*\n{quoted}"


def request_title(request: Request) -> str:
    return f"*{request.label}* · {escape(request.action.label)}: {software_text(request)}"


def fallback_title(request: Request) -> str:
    """Plain one-liner for notifications: `#42: Install or update to latest 7-Zip on 3 computers`."""
    name = truncate(one_line(request.software.name), 120)
    where = plural(len(request.targets.computers), "computer")
    return f"{request.label}: {request.action.label} {escape(name)} on {where}"


def _decided(request: Request, verb: str) -> str:
    who = f" by {mention(request.decided_by)}" if request.decided_by else ""
    when = f" at {hhmm(request.decided_at)}" if request.decided_at else ""
    return f"{verb}{who}{when}"


def state_line(request: Request) -> str:
    """One line saying where the request stands, for every card and list."""
    state = request.state
    if state is RequestState.PENDING:
        return ":hourglass_flowing_sand: Pending approval"
    if state is RequestState.DENIED:
        reason = f": {clip(one_line(request.decision_reason), 500)}" if request.decision_reason else ""
        return f":no_entry: {_decided(request, 'Denied')}{reason}"
    if state is RequestState.EXPIRED:
        return ":alarm_clock: Expired: nobody decided in time"
    if state is RequestState.CANCELLED:
        return f":heavy_multiplication_x: {_decided(request, 'Cancelled')}"
    approved = (
        f"Auto-approved as an approver's preview ({mention(request.requester)})"
        if request.auto_approved
        else _decided(request, "Approved")
    )
    if state is RequestState.APPROVED:
        return f":white_check_mark: {approved}"
    if state is RequestState.STARTING:
        return f":white_check_mark: {approved} · :arrow_forward: starting"
    if state is RequestState.RUNNING:
        return f":white_check_mark: {approved} · :gear: running"
    outcome = OUTCOME_LABELS.get(request.outcome, "done") if request.outcome else "done"
    return f":checkered_flag: Finished: {outcome} · {approved}"


def state_word(request: Request) -> str:
    """Short state for lists: `pending approval`, `finished: partly passed`."""
    if request.state is RequestState.PENDING:
        return "pending approval"
    if request.state is RequestState.FINISHED and request.outcome:
        return f"finished: {OUTCOME_LABELS[request.outcome]}"
    return request.state.value


def escape_action(request: Request) -> str:
    """The action's label (fixed text, escaped anyway for symmetry)."""
    return escape(request.action.label)
