"""The fake Slack workspace's state: people, channels, groups, messages, views, files, recorded calls.

Plain dataclasses, no HTTP: `immybot_slack_sandbox.slack` serves them, the driver and the transcript read them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SlackUser:
    id: str
    name: str
    real_name: str
    email: str | None = None
    is_bot: bool = False
    tz: str = "UTC"

    def to_api(self) -> dict[str, Any]:
        profile: dict[str, Any] = {"real_name": self.real_name, "display_name": self.name}
        if self.email:
            profile["email"] = self.email
        return {
            "id": self.id,
            "name": self.name,
            "real_name": self.real_name,
            "is_bot": self.is_bot,
            "deleted": False,
            "tz": self.tz,
            "profile": profile,
        }


@dataclass
class SlackChannel:
    id: str
    name: str
    members: set[str] = field(default_factory=set)
    bot_member: bool = True
    is_im: bool = False
    is_private: bool = False
    im_user: str | None = None  # for a DM: the person on the other side

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "is_member": self.bot_member,
            "is_im": self.is_im,
            "is_channel": not self.is_im and not self.is_private,
            "is_private": self.is_private,
        }
        if self.is_im:
            data["user"] = self.im_user
        else:
            data["name"] = self.name
            data["num_members"] = len(self.members)
        return data


@dataclass
class UserGroup:
    id: str
    handle: str
    users: list[str] = field(default_factory=list)


@dataclass
class Message:
    """A message as people see it now; `history` keeps every earlier version (edits)."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict] = field(default_factory=list)
    thread_ts: str | None = None
    reply_broadcast: bool = False
    metadata: dict | None = None
    files: list[str] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    deleted: bool = False
    via: str = "chat.postMessage"  # or "response_url"

    @property
    def edited(self) -> bool:
        return bool(self.history)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def snapshot(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": copy.deepcopy(self.blocks)}

    def to_api(self, bot_id: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if self.blocks:
            data["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if bot_id:
            data["bot_id"] = bot_id
        if self.metadata:
            data["metadata"] = self.metadata
        return data


@dataclass
class Ephemeral:
    """A message only `user` sees (chat.postEphemeral, a command's ack body, or a response_url reply)."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict] = field(default_factory=list)
    thread_ts: str | None = None
    via: str = "chat.postEphemeral"
    replaced: bool = False
    deleted: bool = False


@dataclass
class ViewRecord:
    """A modal on someone's screen (or the stack entry under it)."""

    id: str
    user: str
    hash: str
    view: dict  # the view JSON as given, plus nothing
    external_id: str | None = None
    root_view_id: str | None = None
    previous_view_id: str | None = None
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    closed: bool = False
    updates: int = 0

    @property
    def callback_id(self) -> str | None:
        return self.view.get("callback_id")

    @property
    def private_metadata(self) -> str:
        return self.view.get("private_metadata", "")

    @property
    def blocks(self) -> list[dict]:
        return self.view.get("blocks", [])

    def to_api(self, *, team_id: str, app_id: str, bot_id: str) -> dict[str, Any]:
        data = copy.deepcopy(self.view)
        data.update(
            id=self.id,
            team_id=team_id,
            hash=self.hash,
            state={"values": copy.deepcopy(self.state)},
            root_view_id=self.root_view_id or self.id,
            previous_view_id=self.previous_view_id,
            app_id=app_id,
            bot_id=bot_id,
            external_id=self.external_id or "",
            private_metadata=self.view.get("private_metadata", ""),
            callback_id=self.view.get("callback_id", ""),
        )
        return data


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    shared: bool = False

    @property
    def text(self) -> str:
        return (self.content or b"").decode("utf-8", errors="replace")


@dataclass
class Call:
    """One Web API call as the fake saw it: method, params (token removed, JSON fields decoded), outcome."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


@dataclass
class Trigger:
    id: str
    user: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseUrl:
    """A `response_url` the fake minted for a slash command or a block action."""

    id: str
    kind: str  # "command" | "action"
    user: str
    channel: str
    issued_at: float
    message_ts: str | None = None  # the message a block action came from
    ephemeral_ts: str | None = None  # when that message was itself ephemeral
    uses: int = 0
    posts: list[dict] = field(default_factory=list)


@dataclass
class Violation:
    """A payload Slack would have rejected (`error`) or frowned on (`warning`)."""

    method: str
    message: str
    severity: str = "error"
