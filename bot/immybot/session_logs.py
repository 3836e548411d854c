"""A maintenance session's log, messages only (SPEC §7 "Show log").

`GetMaintenanceSessionLogResponse` rows carry `script`, `scriptOutput`, `scriptParameters` and
`paramBlockParameters` besides the message: any of them may hold a script parameter's value (a
licence key, a password). `LogLine` keeps only `time`, `level` (`sessionLogType`) and `message`;
every parameter value seen in the same answer is also masked inside messages, because ImmyBot's
command lines can echo them. Nothing else of a row is ever read into the bot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.immybot.models import _enum

SESSION_LOG_TYPE = ("Generic", "Error", "Command", "CommandResult", "Progress")
MASK = "••••"
_MIN_SECRET = 4  # shorter values ("1", "yes") would mask ordinary words: never a credential anyway
_PARAMETER_FIELDS = ("scriptParameters", "paramBlockParameters")


class LogLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    time: str | None = None
    level: Annotated[str | None, _enum(SESSION_LOG_TYPE)] = Field(default=None, validation_alias="sessionLogType")
    message: str = ""


def _values(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)
    elif value is not None and not isinstance(value, bool):
        text = str(value)
        if len(text) >= _MIN_SECRET:
            yield text


def parameter_values(rows: Any) -> list[str]:
    """Every parameter value in a logs answer, longest first (so a value containing another masks whole)."""
    found: set[str] = set()
    for row in rows if isinstance(rows, list) else ():
        if isinstance(row, dict):
            for name in _PARAMETER_FIELDS:
                found.update(_values(row.get(name)))
    return sorted(found, key=len, reverse=True)


def only_messages(rows: Any) -> Any:
    """The rows cut down to the three fields we model, messages masked; what is not a list is left to fail."""
    if not isinstance(rows, list):
        return rows
    secrets = parameter_values(rows)
    kept = []
    for row in rows:
        if not isinstance(row, dict):
            kept.append(row)
            continue
        message = row.get("message")
        if isinstance(message, str):
            for secret in secrets:
                message = message.replace(secret, MASK)
        kept.append({"time": row.get("time"), "sessionLogType": row.get("sessionLogType"), "message": message or ""})
    return kept


def last_lines(lines: list[LogLine], last: int) -> list[LogLine]:
    """The `last` newest lines with a message, oldest first (ISO times sort as text; the sort is stable, so
    lines of the same time keep ImmyBot's order). Progress lines carry no message and are left out."""
    with_text = [line for line in lines if line.message.strip()]
    with_text.sort(key=lambda line: line.time or "")
    return with_text[-last:] if last > 0 else []
