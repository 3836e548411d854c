"""Web API methods of the fake Slack, one function each: `(fake, params) -> response dict`.

A handler raises `SlackError("code")` for `{"ok": false, "error": "code"}`; `immybot_slack_sandbox.slack` does auth,
fault knobs and recording around it. Views live in `slack_views_api`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from immybot_slack_sandbox.slack_state import Message, SlackChannel, UploadedFile
from immybot_slack_sandbox.slack_validate import BlockKitError, check_message
from immybot_slack_sandbox.slack_world import SlackWorld

Handler = Callable[[SlackWorld, dict[str, Any]], dict[str, Any]]


class SlackError(Exception):
    def __init__(self, error: str, detail: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.detail = detail


def required(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value in (None, ""):
        raise SlackError("invalid_arguments", f"missing required argument {name!r}")
    return value


def checked_message(fake: SlackWorld, method: str, params: dict[str, Any]) -> tuple[str, list[dict]]:
    text = params.get("text") or ""
    blocks = params.get("blocks") or []
    try:
        for warning in check_message(text, blocks, where=method):
            fake.warn(method, warning)
    except BlockKitError as err:
        fake.violation(method, str(err))
        raise SlackError(err.error, str(err)) from None
    return str(text), blocks


def resolve_channel(fake: SlackWorld, channel_id: str) -> SlackChannel:
    """A channel id, a `#name`, or a user id (the bot's DM with that person)."""
    if channel_id in fake.channels:
        return fake.channels[channel_id]
    if channel_id in fake.users:
        return fake.dm_with(channel_id)
    for channel in fake.channels.values():
        if channel.name == channel_id.lstrip("#") and not channel.is_im:
            return channel
    raise SlackError("channel_not_found")


def auth_test(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"{fake.url}/",
        "team": fake.team_name,
        "user": fake.users[fake.bot_user_id].name,
        "team_id": fake.team_id,
        "user_id": fake.bot_user_id,
        "bot_id": fake.bot_id,
        "app_id": fake.app_id,
        "is_enterprise_install": False,
    }


def chat_post_message(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    channel = resolve_channel(fake, str(required(params, "channel")))
    if not channel.bot_member:
        raise SlackError("not_in_channel")
    text, blocks = checked_message(fake, "chat.postMessage", params)
    thread_ts = params.get("thread_ts") or None
    if thread_ts and fake.find_message(channel.id, str(thread_ts)) is None:
        raise SlackError("thread_not_found")  # stricter than Slack, which would post a lone message
    metadata, warning = checked_metadata(fake, "chat.postMessage", params.get("metadata"))
    broadcast = str(params.get("reply_broadcast", "")).lower() in ("1", "true")
    message = fake.add_message(
        channel.id, fake.bot_user_id, text, blocks, thread_ts=thread_ts, metadata=metadata, reply_broadcast=broadcast
    )
    answer = {"channel": channel.id, "ts": message.ts, "message": message.to_api(fake.bot_id)}
    return answer | ({"warning": warning, "response_metadata": {"warnings": [warning]}} if warning else {})


_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_-]+$")


def checked_metadata(fake: SlackWorld, method: str, metadata: Any) -> tuple[dict | None, str | None]:
    """Message metadata as Slack keeps it: `{"event_type", "event_payload"}`. An `event_type` with other
    than letters, digits, `_` and `-`, or no object payload, is ignored with an `invalid_metadata_schema`
    warning (docs.slack.dev/messaging/message-metadata); the message is still posted."""
    if metadata in (None, "", {}):
        return None, None
    valid = (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and bool(_EVENT_TYPE.match(metadata["event_type"]))
        and isinstance(metadata.get("event_payload"), dict)
    )
    if not valid:
        fake.warn(method, f"invalid_metadata_schema: {metadata!r}")
        return None, "invalid_metadata_schema"
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}, None


def chat_update(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    channel = resolve_channel(fake, str(required(params, "channel")))
    message = fake.find_message(channel.id, str(required(params, "ts")))
    if message is None or message.deleted:
        raise SlackError("message_not_found")
    if message.user != fake.bot_user_id:
        raise SlackError("cant_update_message")
    text, blocks = checked_message(fake, "chat.update", params)
    message.history.append(message.snapshot())
    message.text = text
    if "blocks" in params:
        message.blocks = blocks
    if params.get("metadata"):
        message.metadata = checked_metadata(fake, "chat.update", params["metadata"])[0] or message.metadata
    return {"channel": channel.id, "ts": message.ts, "text": text, "message": message.to_api(fake.bot_id)}


def chat_post_ephemeral(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    channel = resolve_channel(fake, str(required(params, "channel")))
    user = str(required(params, "user"))
    if user not in fake.users:
        raise SlackError("user_not_found")
    if not channel.bot_member:
        raise SlackError("not_in_channel")
    if not channel.is_im and user not in channel.members:
        raise SlackError("user_not_in_channel")
    text, blocks = checked_message(fake, "chat.postEphemeral", params)
    ephemeral = fake.add_ephemeral(channel.id, user, text, blocks, thread_ts=params.get("thread_ts") or None)
    return {"message_ts": ephemeral.ts}


def chat_get_permalink(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    channel = resolve_channel(fake, str(required(params, "channel")))
    ts = str(required(params, "message_ts"))
    if fake.find_message(channel.id, ts) is None:
        raise SlackError("message_not_found")
    return {"channel": channel.id, "permalink": f"{fake.url}/archives/{channel.id}/p{ts.replace('.', '')}"}


def conversations_open(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("channel"):
        return {"channel": resolve_channel(fake, str(params["channel"])).to_api()}
    users = [u for u in str(required(params, "users")).split(",") if u]
    if len(users) != 1:
        raise SlackError("not_implemented", "the fake opens one-to-one DMs only")
    if users[0] not in fake.users:
        raise SlackError("user_not_found")
    return {"channel": fake.dm_with(users[0]).to_api()}


def conversations_info(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    channel = fake.channels.get(str(required(params, "channel")))
    if channel is None:
        raise SlackError("channel_not_found")
    return {"channel": channel.to_api()}


def history_scope(channel: SlackChannel) -> str:
    """The bot scope that reads this conversation's messages."""
    return "im:history" if channel.is_im else "groups:history" if channel.is_private else "channels:history"


def _readable(fake: SlackWorld, params: dict[str, Any]) -> SlackChannel:
    """The channel a history read names, once the bot may read it (scope, membership)."""
    channel = resolve_channel(fake, str(required(params, "channel")))
    needed = history_scope(channel)
    if fake.granted_scopes is not None and needed not in fake.granted_scopes:
        raise SlackError("missing_scope", f"needed: {needed}")
    if not channel.bot_member:
        raise SlackError("not_in_channel")
    return channel


def _listed(fake: SlackWorld, message: Message, params: dict[str, Any]) -> dict[str, Any]:
    """A message as a history read lists it: `bot_id` only on the bot's own, `metadata` only with
    `include_all_metadata`."""
    data = message.to_api(fake.bot_id if message.user == fake.bot_user_id else None)
    if str(params.get("include_all_metadata", "")).lower() not in ("1", "true"):
        data.pop("metadata", None)
    if message.files:
        data["files"] = [_file_api(fake, file_id) for file_id in message.files if file_id in fake.files]
    return data


def conversations_history(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    """A channel's messages (thread replies only when broadcast), newest first, within `oldest`/`latest`
    (`inclusive`); `metadata` only with `include_all_metadata`; cursor-paged, `limit` default 100, max 999."""
    channel = _readable(fake, params)
    try:
        limit = min(int(params.get("limit") or 100), 999)
        start = int(params.get("cursor") or 0)
        oldest = _ts(params.get("oldest") or "0")
        latest = _ts(params["latest"]) if params.get("latest") else None
    except ValueError:
        raise SlackError("invalid_cursor" if params.get("cursor") else "invalid_arguments") from None
    if limit < 1 or start < 0:
        raise SlackError("invalid_limit" if limit < 1 else "invalid_cursor")
    inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")

    def within(ts: tuple[int, int]) -> bool:
        above = ts >= oldest if inclusive else ts > oldest
        below = latest is None or (ts <= latest if inclusive else ts < latest)
        return above and below

    listed = [
        m for m in fake.message_log
        if m.channel == channel.id and not m.deleted and (not m.is_reply or m.reply_broadcast) and within(_ts(m.ts))
    ]
    listed.sort(key=lambda m: _ts(m.ts), reverse=True)
    page = listed[start : start + limit]
    after = start + len(page)
    more = after < len(listed)
    return {
        "messages": [_listed(fake, m, params) for m in page],
        "has_more": more,
        "pin_count": 0,
        "response_metadata": {"next_cursor": str(after) if more else ""},
    }


def _ts(value: object) -> tuple[int, int]:
    """A Slack ts (`1700000000.000100`) as a sortable pair."""
    seconds, _, micros = str(value).partition(".")
    return int(seconds), int((micros or "0").ljust(6, "0")[:6])


def conversations_replies(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    """A thread, parent first, oldest first; `metadata` only with `include_all_metadata`; cursor-paged."""
    channel = _readable(fake, params)
    ts = str(required(params, "ts"))
    parent = fake.find_message(channel.id, ts)
    if parent is None or parent.deleted:
        raise SlackError("thread_not_found")
    try:
        limit = int(params.get("limit") or 1000)
        start = int(params.get("cursor") or 0)
    except ValueError:
        raise SlackError("invalid_cursor" if params.get("cursor") else "invalid_limit") from None
    if limit < 1 or start < 0:
        raise SlackError("invalid_limit" if limit < 1 else "invalid_cursor")
    chain = [m for m in [parent, *fake.thread(channel.id, parent.ts)] if not m.deleted]
    page = chain[start : start + min(limit, 1000)]
    messages = [_listed(fake, message, params) for message in page]
    after = start + len(page)
    more = after < len(chain)
    return {"messages": messages, "has_more": more, "response_metadata": {"next_cursor": str(after) if more else ""}}


def _file_api(fake: SlackWorld, file_id: str) -> dict[str, Any]:
    file = fake.files[file_id]
    return {"id": file.id, "name": file.filename, "title": file.title or file.filename, "size": file.length}


def users_info(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    user = fake.users.get(str(required(params, "user")))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.to_api()}


def usergroups_users_list(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    group = fake.groups.get(str(required(params, "usergroup")))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}


def files_get_upload_url_external(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    filename = str(required(params, "filename"))
    try:
        length = int(required(params, "length"))
    except ValueError:
        raise SlackError("invalid_arguments", "length must be an integer") from None
    file = UploadedFile(id=fake.new_id("F"), filename=filename, length=length)
    fake.files[file.id] = file
    return {"upload_url": f"{fake.url}/upload/{file.id}", "file_id": file.id}


def files_complete_upload_external(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    entries = required(params, "files")
    if isinstance(entries, str):
        entries = json.loads(entries)
    channel_id = params.get("channel_id") or params.get("channels")
    channel = resolve_channel(fake, str(channel_id)) if channel_id else None
    if channel is not None and not channel.bot_member:
        raise SlackError("not_in_channel")
    done: list[dict[str, Any]] = []
    for entry in entries:
        file = fake.files.get(entry.get("id"))
        if file is None or file.content is None:
            raise SlackError("file_not_found", f"no uploaded bytes for {entry.get('id')!r}")
        file.title = entry.get("title") or file.filename
        if channel is not None:
            file.channel, file.thread_ts, file.shared = channel.id, params.get("thread_ts") or None, True
            file.initial_comment = params.get("initial_comment") or None
        done.append({"id": file.id, "title": file.title, "name": file.filename, "size": file.length})
    if channel is not None:
        comment = params.get("initial_comment") or ""
        message = fake.add_message(channel.id, fake.bot_user_id, comment, [], thread_ts=file.thread_ts)
        message.files = [f["id"] for f in done]
    return {"files": done}


def apps_connections_open(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    return {"url": fake.socket.mint_url(fake.url)}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
    "apps.connections.open": apps_connections_open,
}

__all__ = ["METHODS", "Handler", "SlackError", "checked_message", "required", "resolve_channel"]
