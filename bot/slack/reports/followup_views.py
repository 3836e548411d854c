"""What follows a summary (SPEC §7): the Retry failed answers and the ephemeral "Show log" message.

Log lines are ImmyBot's log *messages* only (the adapter never passes script parameters or their values);
they are still escaped, kept out of a code fence's reach, and cut to Slack's limits: the last lines that fit
one section. `LogMessage.too_long` says lines were left out, so the caller also sends `log_file_text` as a
file in the clicker's DM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import Block

from bot.slack import blocks as kit
from bot.slack.text import clip, mention, one_line, plural
from bot.workflow.model import Request
from bot.workflow.retry import RetryRefusal

LOG_LINE_MAX = 300  # characters of one log line in Slack (escaped); the file keeps them whole
LOG_LINES_MAX = 40  # the last lines shown ephemerally
LOG_TEXT_MAX = 2900  # inside the 3,000 of a section, with the code fence
LOG_FILE_MAX = 1_000_000  # characters of the DM'd file: the tail of a runaway log
_FENCE = "```"
_ZWSP = "\u200b"  # breaks a ``` inside a line so a log line cannot close the code block


@dataclass(frozen=True)
class LogMessage:
    text: str
    blocks: list[dict]
    too_long: bool  # lines were left out: send `log_file_text` as a file in a DM too
    shown: int
    total: int


def _log_line(line: str) -> str:
    return clip(line.replace("\r", "").replace(_FENCE, f"`{_ZWSP}`{_ZWSP}`"), LOG_LINE_MAX)


def _lines(messages: Sequence[str]) -> list[str]:
    """Every log message's lines (a message may hold several), blank ones dropped."""
    return [line for message in messages for line in message.splitlines() if line.strip()]


def log_message(request: Request, computer_name: str, session_id: int, messages: Sequence[str]) -> LogMessage:
    """The ephemeral answer to "Show log": the last lines of one session's log in a code block."""
    lines = _lines(messages)
    name = clip(one_line(computer_name), 80)
    head = f"*{request.label} · {name}* · session {session_id}"
    if not lines:
        text = f"{request.label}: session {session_id} has no log messages yet."
        return LogMessage(text, kit.message(text, [kit.section(f"{head}\nNo log messages yet.")])[1], False, 0, 0)
    kept: list[str] = []
    used = len(_FENCE) * 2 + 2
    for line in reversed(lines[-LOG_LINES_MAX:]):
        piece = _log_line(line)
        if used + len(piece) + 1 > LOG_TEXT_MAX - len(head) - 60:
            break
        kept.append(piece)
        used += len(piece) + 1
    kept.reverse()
    too_long = len(kept) < len(lines)
    scope = f"last {len(kept)} of {plural(len(lines), 'line')}" if too_long else plural(len(lines), "line")
    body = f"{head} · {scope}\n{_FENCE}\n" + "\n".join(kept) + f"\n{_FENCE}"
    blocks: list[Block] = [kit.section(body)]
    if too_long:
        blocks.append(kit.context("The whole log is in a file in your DMs with the bot."))
    text = f"{request.label}: log of session {session_id} ({scope})"
    return LogMessage(text, kit.message(text, blocks)[1], too_long, len(kept), len(lines))


def log_file_text(messages: Sequence[str]) -> str:
    """The DM'd file: the plain log (a file is not mrkdwn, so nothing to escape), its tail past `LOG_FILE_MAX`."""
    text = "\n".join(_lines(messages)) + "\n"
    return text if len(text) <= LOG_FILE_MAX else text[-LOG_FILE_MAX:]


def log_sent_text(request: Request, session_id: int) -> str:
    return f"The log of {request.label} session {session_id} is long: it is in your DMs with the bot as a file."


def nothing_to_retry_text(request: Request) -> str:
    return f"Every computer of {request.label} passed: there is nothing to retry."


def retry_started_text(request: Request, count: int, clicker: str) -> str:
    """The thread reply when a retry starts (the new summary follows, like the first run's)."""
    return (f":repeat: {mention(clicker)} retried {request.label} on the {plural(count, 'computer')} that did "
            "not pass, with the same software and options. A new summary follows here.")


def retry_refused_text(request: Request, refusal: RetryRefusal, *, window_hours: float | None = None) -> str:
    """The clicker's ephemeral refusal (the attempt is audited as `decision.refused` by the caller)."""
    if refusal is RetryRefusal.NOT_ALLOWED:
        return f"Only the requester or an approver may retry {request.label}."
    if refusal is RetryRefusal.WINDOW_PASSED:
        hours = f"{window_hours:g} hours" if window_hours is not None else "the retry window"
        return (f"{request.label} was approved more than {hours} ago: it can no longer be retried. "
                "Please make a new request.")
    if refusal is RetryRefusal.ALREADY_RETRIED:
        return f"This summary of {request.label} was already retried once: see the newer summary in the thread."
    return nothing_to_retry_text(request)


def show_log_refused_text(request: Request) -> str:
    return f"Only the requester or an approver may see the logs of {request.label}."

