"""What the request's thread shows while sessions run and when they are done.

Only whitelisted `SessionResult` fields are ever shown (never parameters or logs); failure reasons come from
ImmyBot and are escaped and truncated like user text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    InteractiveElement,
    SectionBlock,
    StaticSelectElement,
)

from bot.safe_csv import csv_text
from bot.slack import blocks as kit
from bot.slack.reports import ids
from bot.slack.schedule_text import when_text
from bot.slack.text import clip, mention, more, one_line, plural, truncate
from bot.workflow.model import TIMED_OUT, Request, SessionResult
from bot.workflow.retry import PASSED, did_not_pass
from bot.workflow.schedule import Schedule

STATUS_LINES = 20
INLINE_COMPUTERS = 40  # past this many, the summary carries the first ones and the CSV holds them all
COMPUTERS_PER_MESSAGE = 45  # + headline/footer stays under 50 blocks
FAILURE_MAX = 500
MAX_LOG_PICKS = 100  # Slack's options per static select
CSV_FIELDS = (
    "computer_id",
    "computer_name",
    "session_id",
    "status",
    "action",
    "detected_version",
    "desired_version",
    "failure_reason",
    "already_in_progress",
)

_EMOJI = {
    "Passed": ":white_check_mark:",
    "Failed": ":x:",
    "PartialPassed": ":large_orange_diamond:",
    "Cancelled": ":heavy_multiplication_x:",
    "Missed": ":zzz:",
    "Running": ":gear:",
    TIMED_OUT: ":alarm_clock:",
}
_WORDS = {"Passed": "passed", "Failed": "failed", "PartialPassed": "partly passed", TIMED_OUT: "timed out"}


def status_word(status: str) -> str:
    """`passed`, `partly passed`, `pending connectivity`: ImmyBot's status names in plain words."""
    return _WORDS.get(status) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", status).lower()


def counts_text(statuses: Sequence[str]) -> str:
    """`9 passed, 1 failed` in a stable order (most common first, then by name)."""
    counted = Counter(status_word(s) for s in statuses)
    return ", ".join(f"{n} {word}" for word, n in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))


def _emoji(status: str) -> str:
    return _EMOJI.get(status, ":hourglass_flowing_sand:")


def status_message(
    request: Request, *, names: dict[int, str], immybot_unavailable: bool = False, schedule: Schedule | None = None
) -> tuple[str, list[dict]]:
    """The one status message in the thread, edited in place while sessions run (and say when a scheduled
    run starts, until every session is done)."""
    text, blocks = _status_message(request, names=names, immybot_unavailable=immybot_unavailable)
    when = when_text(schedule)
    if when and not (request.sessions and all(s.terminal for s in request.sessions)):
        blocks.append(kit.context(when).to_dict())
    return text, blocks


def _status_message(
    request: Request, *, names: dict[int, str], immybot_unavailable: bool = False
) -> tuple[str, list[dict]]:
    if immybot_unavailable:
        text = f"{request.label}: ImmyBot is unavailable, retrying"
        return kit.message(
            text,
            [
                kit.section(
                    f":warning: *{request.label}: ImmyBot is unavailable, retrying.* "
                    "The request stays approved and starts as soon as ImmyBot answers; nothing is lost.",
                    block_id=ids.STATUS_BLOCK,
                )
            ],
        )
    sessions = request.sessions
    if not sessions:
        text = f"{request.label}: starting maintenance sessions…"
        return kit.message(text, [kit.section(f":arrow_forward: *{text}*", block_id=ids.STATUS_BLOCK)])
    done = sum(1 for s in sessions if s.terminal)
    counts = counts_text([s.status for s in sessions])
    head = f"{request.label}: {done} of {plural(len(sessions), 'session')} done ({counts})"
    lines = []
    for session in sessions[:STATUS_LINES]:
        name = names.get(session.computer_id) if session.computer_id is not None else None
        label = clip(one_line(name), 80) if name else f"session {session.session_id}"
        extra = " _(already in progress)_" if session.already_in_progress else ""
        lines.append(f"{_emoji(session.status)} {label}: {status_word(session.status)}{extra}")
    rest = more(len(sessions), STATUS_LINES)
    blocks: list[Block] = [kit.section(f"*{head}*\n" + "\n".join(lines), block_id=ids.STATUS_BLOCK)]
    if rest:
        blocks.append(kit.context(rest))
    return kit.message(head, blocks)


def _versions(result: SessionResult) -> str:
    detected = clip(one_line(result.detected_version), 60) if result.detected_version else "none"
    desired = clip(one_line(result.desired_version), 60) if result.desired_version else "none"
    action = clip(one_line(result.action), 40) if result.action else "No action"
    return f"{action}: {detected} → {desired}"


def computer_line(result: SessionResult, base_url: str) -> str:
    name = clip(one_line(result.computer_name), 80)
    if result.computer_id is not None:
        name = f"<{base_url.rstrip('/')}/computers/{result.computer_id}|{name}>"
    text = f"{_emoji(result.status)} *{name}* · {status_word(result.status)} · session {result.session_id}"
    if result.already_in_progress:
        text += " _(was already in progress)_"
    text += f"\n{_versions(result)}"
    if result.failure_reason:
        text += f"\n*Failure:* {clip(one_line(result.failure_reason), FAILURE_MAX)}"
    return text


def headline(request: Request, results: Sequence[SessionResult], *, retry: int = 0) -> str:
    """`#42 finished: 9 passed, 1 failed`; a retry's summary says which: `#42 retry 1 finished: …`."""
    counts = counts_text([r.status for r in results]) or "no sessions"
    which = f" retry {retry}" if retry else ""
    return f"{request.label}{which} finished: {counts}"


def final_summary(
    request: Request,
    results: list[SessionResult],
    base_url: str,
    *,
    inline_limit: int | None = INLINE_COMPUTERS,
    summary_id: str | None = None,
    retry: int = 0,
) -> list[tuple[str, list[dict]]]:
    """The final summary as one or more new thread replies, each ≤ 50 blocks.

    Past `inline_limit` computers it is one message with the first `inline_limit` lines and a note that the
    CSV (`summary_csv`) holds them all; with `inline_limit=None` every computer is listed, split over messages.
    With a `summary_id` (what the Retry failed button answers to), computers that did not pass get a
    "Show log" button on their line, and the first message a "Retry failed" button (see `summary_actions`).
    `retry` numbers the summary of a retry run (its results are only the retried computers).
    """
    head = headline(request, results, retry=retry)
    first_text = f"{mention(request.requester)} {head}"
    shown = results if inline_limit is None else results[:inline_limit]
    chunks = [shown[i : i + COMPUTERS_PER_MESSAGE] for i in range(0, len(shown), COMPUTERS_PER_MESSAGE)] or [[]]
    actions = summary_actions(request, results, shown, summary_id) if summary_id is not None else None
    messages: list[tuple[str, list[dict]]] = []
    for index, chunk in enumerate(chunks):
        blocks: list[Block] = []
        if index == 0:
            blocks.append(kit.section(f"{mention(request.requester)} *{head}*", block_id=ids.SUMMARY_HEADLINE_BLOCK))
            blocks.append(kit.context(f"{kit.escape_action(request)} {kit.software_text(request)}"))
            if actions is not None:
                blocks.append(actions)
        blocks.extend(_computer_block(request, r, base_url, with_log=summary_id is not None) for r in chunk)
        if index == len(chunks) - 1 and len(shown) < len(results):
            note = f"{more(len(results), len(shown))}: every computer is in the attached CSV."
            unpicked = len(_hidden_failed(results, shown)) - MAX_LOG_PICKS
            if summary_id is not None and unpicked > 0:
                note += f" Show log is offered for all but {plural(unpicked, 'failed computer')}: see those in ImmyBot."
            blocks.append(kit.context(note))
        text = first_text if index == 0 else f"{request.label} summary, part {index + 1} of {len(chunks)}"
        messages.append(kit.message(text, blocks))
    return messages


def _computer_block(request: Request, result: SessionResult, base_url: str, *, with_log: bool) -> SectionBlock:
    """A computer's line; one that did not pass carries its "Show log" button (an accessory: no extra block)."""
    button = None
    if with_log and result.status != PASSED:
        button = ButtonElement(text=kit.plain("Show log"), action_id=ids.SHOW_LOG_ACTION,
                               value=ids.log_value(request.id, result.session_id))
    return SectionBlock(text=kit.section(computer_line(result, base_url)).text, accessory=button)


def _hidden_failed(results: Sequence[SessionResult], shown: Sequence[SessionResult]) -> list[SessionResult]:
    inline = {r.session_id for r in shown}
    return [r for r in did_not_pass(results) if r.session_id not in inline]


def summary_actions(
    request: Request, results: Sequence[SessionResult], shown: Sequence[SessionResult], summary_id: str
) -> ActionsBlock | None:
    """"Retry N failed" (with a confirm), and for failed computers not listed inline, a "Show log of…" select
    (≤ 100 options; beyond that the CSV names them). None when every computer passed."""
    failed = did_not_pass(results)
    if not failed:
        return None
    elements: list[InteractiveElement] = [ButtonElement(
        text=kit.plain(f"Retry {len(failed)} failed"),
        action_id=ids.RETRY_ACTION,
        value=ids.summary_value(request.id, summary_id),
        confirm=ConfirmObject(
            title=kit.plain("Retry failed computers?"),
            text=kit.plain(f"Runs {kit.escape_action(request).lower()} again on {plural(len(failed), 'computer')} "
                           "that did not pass, with the same options. No new approval is needed."),
            confirm=kit.plain("Retry"),
            deny=kit.plain("Back"),
        ),
    )]
    hidden = _hidden_failed(results, shown)
    if hidden:
        elements.append(StaticSelectElement(
            action_id=ids.SHOW_LOG_PICK_ACTION,
            placeholder=kit.plain(f"Show log of another failed computer ({len(hidden)})"),
            options=[kit.option(f"{one_line(r.computer_name)} · {status_word(r.status)}",
                                ids.log_value(request.id, r.session_id)) for r in hidden[:MAX_LOG_PICKS]],
        ))
    return ActionsBlock(block_id=ids.SUMMARY_ACTIONS_BLOCK, elements=elements)


def _cell(value: object) -> object:
    return truncate(value, 2000) if isinstance(value, str) else value


def summary_csv(results: Sequence[SessionResult]) -> str:
    """Every computer's whitelisted result fields as CSV (for the file attached to a long summary),
    written (and defused for spreadsheets) by the one CSV writer."""
    return csv_text(CSV_FIELDS, ([_cell(getattr(r, field)) for field in CSV_FIELDS] for r in results))
