"""What the fake Slack's Web API handlers see of the workspace (`FakeSlack` is the one implementation).

The handler modules (slack_methods, slack_views_api, slack_webhook, slack_payloads) type their `fake`
argument with this protocol instead of importing `slack.FakeSlack`, which imports them: the fake's
modules form no import cycle, even for type checkers.
"""

from __future__ import annotations

from typing import Protocol

from immybot_slack_sandbox.slack_socket import SocketHub
from immybot_slack_sandbox.slack_state import (
    Ephemeral,
    Message,
    SlackChannel,
    SlackUser,
    Trigger,
    UploadedFile,
    UserGroup,
    ViewRecord,
)


class SlackWorld(Protocol):
    team_id: str
    team_name: str
    bot_user_id: str
    bot_id: str
    app_id: str
    url: str
    users: dict[str, SlackUser]
    channels: dict[str, SlackChannel]
    groups: dict[str, UserGroup]
    message_log: list[Message]
    ephemeral_log: list[Ephemeral]
    views: dict[str, ViewRecord]
    homes: dict[str, ViewRecord]
    files: dict[str, UploadedFile]
    triggers: dict[str, Trigger]
    socket: SocketHub
    granted_scopes: set[str] | None

    def now(self) -> float: ...

    def new_id(self, prefix: str) -> str: ...

    def violation(self, method: str, message: str) -> None: ...

    def warn(self, method: str, message: str) -> None: ...

    def dm_with(self, user_id: str) -> SlackChannel: ...

    def add_message(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict],
        *,
        thread_ts: str | None = None,
        metadata: dict | None = None,
        reply_broadcast: bool = False,
        via: str = "chat.postMessage",
    ) -> Message: ...

    def add_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict],
        *,
        thread_ts: str | None = None,
        via: str = "chat.postEphemeral",
    ) -> Ephemeral: ...

    def find_message(self, channel: str, ts: str) -> Message | None: ...

    def thread(self, channel: str, ts: str) -> list[Message]: ...

    def view_stack(self, user: str) -> list[ViewRecord]: ...
