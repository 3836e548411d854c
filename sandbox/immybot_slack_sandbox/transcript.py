"""What a person would see in Slack, as plain text: channel messages with their threads (indented),
edits shown in their latest state, ephemeral messages marked "only visible to you", App Home tabs and modals.

    print(render_transcript(fake))
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from immybot_slack_sandbox.slack import FakeSlack
    from immybot_slack_sandbox.slack_state import Ephemeral, Message

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
RULE = "─" * 40


def simplify_mrkdwn(fake: FakeSlack, text: str) -> str:
    """`<@U1>` → `@alice`, `<#C1>` → `#ops`, `<!here>` → `@here`, `<url|text>` → `text (url)`, then unescape."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            user = fake.users.get(target[1:])
            return "@" + (user.name if user else label or target[1:])
        if target.startswith("#"):
            channel = fake.channels.get(target[1:])
            return "#" + (label or (channel.name if channel else target[1:]))
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return f"{label} ({target})" if label else target

    text = _LINK.sub(link, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(fake: FakeSlack, obj: Any) -> str:
    if not isinstance(obj, dict):
        return ""
    raw = obj.get("text", "")
    return simplify_mrkdwn(fake, raw) if obj.get("type") == "mrkdwn" else raw


def _element(fake: FakeSlack, element: dict) -> str:
    kind = element.get("type", "")
    if kind == "button":
        return f"[ {_text(fake, element.get('text'))} ]"
    if kind in ("mrkdwn", "plain_text"):
        return _text(fake, element)
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind in ("radio_buttons", "checkboxes"):
        chosen = element.get("initial_option") or {}
        marks = []
        for opt in element.get("options", []):
            on = opt == chosen or opt in (element.get("initial_options") or [])
            marks.append(f"({'•' if on else ' '}) {_text(fake, opt.get('text'))}")
        return "  ".join(marks)
    if "select" in kind:
        shown = element.get("initial_option") or {}
        label = _text(fake, shown.get("text")) if shown else _text(fake, element.get("placeholder")) or "Select"
        return f"[ {label} ▾ ]"
    if kind.endswith("_input"):
        return f"[ {_text(fake, element.get('placeholder')) or '…'} ]"
    return f"[{kind}]"


def render_blocks(fake: FakeSlack, blocks: Iterable[dict]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"## {_text(fake, block.get('text'))}")
        elif kind == "section":
            if block.get("text"):
                lines.extend(_text(fake, block["text"]).splitlines())
            for field in block.get("fields") or []:
                lines.extend(_text(fake, field).splitlines())
            if block.get("accessory"):
                lines.append(_element(fake, block["accessory"]))
        elif kind == "context":
            lines.append("  " + " · ".join(_element(fake, e) for e in block.get("elements", [])))
        elif kind == "actions":
            lines.append("  ".join(_element(fake, e) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append(RULE)
        elif kind == "input":
            optional = " (optional)" if block.get("optional") else ""
            lines.append(f"{_text(fake, block.get('label'))}{optional}: {_element(fake, block.get('element', {}))}")
            if block.get("hint"):
                lines.append(f"  {_text(fake, block['hint'])}")
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        else:
            lines.append(f"[{kind} block]")
    return lines


def _clock(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M")


def _author(fake: FakeSlack, user_id: str) -> str:
    user = fake.users.get(user_id)
    return (user.real_name if user and user.is_bot else f"@{user.name}") if user else user_id


def _body(fake: FakeSlack, text: str, blocks: list[dict]) -> list[str]:
    return render_blocks(fake, blocks) if blocks else simplify_mrkdwn(fake, text).splitlines()


def render_message(fake: FakeSlack, message: Message, *, indent: str = "", show_edited: bool = True) -> list[str]:
    edited = " (edited)" if show_edited and message.edited else ""
    lines = [f"{indent}{_author(fake, message.user)}  {_clock(message.ts)}{edited}"]
    pad = " " * len(indent)
    lines.extend(f"{pad}  {line}" for line in _body(fake, message.text, message.blocks))
    for file_id in message.files:
        file = fake.files.get(file_id)
        if file:
            lines.append(f"{pad}  [file: {file.filename} · {file.title or file.filename}]")
    return lines


def render_ephemeral(fake: FakeSlack, ephemeral: Ephemeral, *, indent: str = "") -> list[str]:
    who = fake.users.get(ephemeral.user)
    head = f"{indent}{_author(fake, fake.bot_user_id)}  {_clock(ephemeral.ts)}  (only visible to you, @"
    lines = [head + (who.name if who else ephemeral.user) + ")"]
    pad = " " * len(indent)
    lines.extend(f"{pad}  {line}" for line in _body(fake, ephemeral.text, ephemeral.blocks))
    return lines


def render_channel(fake: FakeSlack, channel_id: str, *, show_edited: bool = True) -> list[str]:
    channel = fake.channels[channel_id]
    title = f"DM with @{fake.users[channel.im_user].name}" if channel.is_im and channel.im_user else f"#{channel.name}"
    entries: list[tuple[str, list[str]]] = []
    for message in fake.messages(channel_id):
        lines = render_message(fake, message, show_edited=show_edited)
        for reply in fake.thread(channel_id, message.ts):
            if not reply.deleted:
                lines.extend(render_message(fake, reply, indent="    ↳ ", show_edited=show_edited))
        for eph in fake.ephemeral_log:
            if eph.channel == channel_id and eph.thread_ts == message.ts and not eph.deleted:
                lines.extend(render_ephemeral(fake, eph, indent="    ↳ "))
        entries.append((message.ts, lines))
    for eph in fake.ephemeral_log:
        if eph.channel == channel_id and not eph.thread_ts and not eph.deleted:
            entries.append((eph.ts, render_ephemeral(fake, eph)))
    if not entries:
        return []
    out = [f"=== {title} ==="]
    for _, lines in sorted(entries, key=lambda e: e[0]):
        out.extend(lines)
        out.append("")
    return out


def render_view(fake: FakeSlack, view: dict, *, title: str) -> list[str]:
    lines = [f"=== {title} ==="]
    if view.get("title"):
        lines.append(f"[{_text(fake, view['title'])}]")
    lines.extend(render_blocks(fake, view.get("blocks", [])))
    if view.get("submit"):
        lines.append(f"[ {_text(fake, view.get('close')) or 'Cancel'} ]  [ {_text(fake, view['submit'])} ]")
    return [*lines, ""]


def render_transcript(
    fake: FakeSlack,
    *,
    channels: Iterable[str] | None = None,
    homes: bool = True,
    modals: bool = False,
    show_edited: bool = True,
) -> str:
    """Every channel with messages (or those named), then App Home tabs (and open modals if asked)."""
    out: list[str] = []
    for channel_id in list(channels) if channels is not None else list(fake.channels):
        out.extend(render_channel(fake, channel_id, show_edited=show_edited))
    if homes:
        for user_id, record in fake.homes.items():
            name = fake.users[user_id].name if user_id in fake.users else user_id
            out.extend(render_view(fake, record.view, title=f"App Home of @{name}"))
    if modals:
        for record in fake.views.values():
            if not record.closed:
                name = fake.users[record.user].name if record.user in fake.users else record.user
                out.extend(render_view(fake, record.view, title=f"Modal open for @{name}"))
    return "\n".join(out).rstrip() + "\n"
