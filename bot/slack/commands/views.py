"""Ephemeral replies to `/immy` sub-commands: help, computer status, matches, requests, audit, refusals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.slack import blocks as kit
from bot.slack.commands import ids
from bot.slack.text import clip, day_hhmm, escape, mention, more, one_line, plural
from bot.workflow.model import Request

LIST_ROWS = 20
AUDIT_ROWS = 30


@dataclass(frozen=True)
class ComputerStatus:
    """What `/immy status <computer>` shows about one ImmyBot computer."""

    name: str
    tenant: str | None
    online: bool | None
    primary_user: str | None
    last_session_id: int | None
    last_session_status: str | None


def help_message() -> tuple[str, list[dict]]:
    usage = "\n".join(
        [
            "`/immy` or `/immy install [search]`: request software for computers or a person",
            "`/immy status <computer>`: online, tenant, primary user, last session",
            "`/immy requests`: your recent requests",
            "`/immy cancel <id>`: cancel your pending request (approvers: a running one)",
            "`/immy audit [@user] [days]`: recent audit rows with a CSV (approvers only)",
            "`/immy help`: this message",
        ]
    )
    return kit.message("How to use /immy", [kit.section(f"*How to use `/immy`*\n{usage}", block_id=ids.HELP_BLOCK)])


def status_card(info: ComputerStatus) -> tuple[str, list[dict]]:
    name = clip(one_line(info.name), 120)
    online = {True: ":large_green_circle: online", False: ":red_circle: offline"}.get(info.online, "status unknown")
    last = "none yet"
    if info.last_session_id is not None:
        last = f"session {info.last_session_id}: {clip(info.last_session_status or 'unknown', 60)}"
    rows = [
        f"*{name}* · {online}",
        f"*Tenant:* {clip(one_line(info.tenant), 120) if info.tenant else 'none'}",
        f"*Primary user:* {clip(one_line(info.primary_user), 254) if info.primary_user else 'none'}",
        f"*Last session:* {last}",
    ]
    text = f"{one_line(info.name)[:120]}: {online.split(' ', 1)[-1]}"
    return kit.message(escape(text), [kit.section("\n".join(rows), block_id=ids.STATUS_CARD_BLOCK)])


def matches_list(query: str, names: Sequence[str]) -> tuple[str, list[dict]]:
    """Several (or no) computers match a partial name: list them so the technician can be exact."""
    q = clip(one_line(query), 100)
    if not names:
        text = f"No computer matches “{q}”."
        return kit.message(text, [kit.section(text)])
    shown = [f"• {clip(one_line(n), 80)}" for n in names[:LIST_ROWS]]
    rest = more(len(names), LIST_ROWS)
    body = f"*{plural(len(names), 'computer')} match “{q}”:*\n" + "\n".join(shown)
    blocks: list[Block] = [kit.section(body), kit.context(rest, "Give the exact name: `/immy status <name>`")]
    return kit.message(f"{plural(len(names), 'computer')} match “{q}”", blocks)


def request_row(request: Request) -> str:
    name = clip(one_line(request.software.name), 80)
    where = plural(len(request.targets.computers), "computer")
    return (
        f"*{request.label}* · {kit.escape_action(request)} *{name}* on {where} · "
        f"{kit.state_word(request)} · {day_hhmm(request.created_at)}"
    )


def requests_list(requests: Sequence[Request]) -> tuple[str, list[dict]]:
    if not requests:
        empty = "You have no requests yet. Start one with `/immy`."
        return kit.message(empty, [kit.section(empty)])
    rows = [request_row(r) for r in requests[:LIST_ROWS]]
    blocks: list[Block] = [kit.section("*Your recent requests*\n" + "\n".join(rows), block_id=ids.REQUESTS_LIST_BLOCK)]
    rest = more(len(requests), LIST_ROWS)
    if rest:
        blocks.append(kit.context(rest))
    return kit.message(f"Your recent requests ({len(requests)})", blocks)


def _audit_row(row: Mapping[str, object]) -> str:
    at = row.get("at")
    when = day_hhmm(datetime.fromisoformat(str(at))) if at else "?"
    parts = [f"`{row.get('id')}` {when}", f"*{clip(str(row.get('event')), 40)}*"]
    if row.get("request_id") is not None:
        parts.append(f"#{row['request_id']}")
    if row.get("actor"):
        parts.append(mention(str(row["actor"])))
    if row.get("outcome"):
        parts.append(clip(one_line(str(row["outcome"])), 80))
    if row.get("decision_reason"):
        parts.append(f"“{clip(one_line(str(row['decision_reason'])), 80)}”")
    return " · ".join(parts)


def audit_list(rows: Sequence[Mapping[str, object]]) -> tuple[str, list[dict]]:
    """Recent audit rows, compact (newest as given); the full CSV is attached separately."""
    if not rows:
        return kit.message("No audit rows match.", [kit.section("No audit rows match.")])
    lines: list[str] = []
    size = 0
    for row in rows[:AUDIT_ROWS]:
        line = _audit_row(row)
        if size + len(line) + 40 > kit.SECTION_TEXT_MAX:
            break
        lines.append(line)
        size += len(line) + 1
    blocks: list[Block] = [kit.section("*Audit log*\n" + "\n".join(lines), block_id=ids.AUDIT_LIST_BLOCK)]
    blocks.append(kit.context(more(len(rows), len(lines)), "Every row is in the attached CSV."))
    return kit.message(f"Audit log: {plural(len(rows), 'row')}", blocks)


def refusal(text: str) -> tuple[str, list[dict]]:
    """A polite no; `text` is escaped (it may quote what the user typed)."""
    body = clip(text, 2900)
    return kit.message(body, [kit.section(f":no_entry: {body}", block_id=ids.REFUSAL_BLOCK)])
