"""A fake Slack: a small in-memory workspace behind a real HTTP Web API, as strict as Slack.

    fake = FakeSlack()
    fake.add_user("U0ALICE", "alice", email="alice@example.com")
    fake.add_channel("C0OPS", "ops", members=["U0ALICE"])
    async with fake.serve():
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)

Every Web API call is recorded (`calls`, `wait_for`); Block Kit is validated on every payload (rejections in
`violations`, soft problems in `warnings`); fault knobs (`rate_limit`, `latency`, `fail`) and a clock knob
(`advance`) make the unhappy paths testable. `response_url`s and Socket Mode live here too; the driver that
plays the people is `immybot_slack_sandbox.slack_user.SlackDriver`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from immybot_slack_sandbox.server import serve
from immybot_slack_sandbox.slack_methods import METHODS, SlackError
from immybot_slack_sandbox.slack_socket import SocketHub
from immybot_slack_sandbox.slack_state import (
    Call,
    Ephemeral,
    Message,
    ResponseUrl,
    SlackChannel,
    SlackUser,
    Trigger,
    UploadedFile,
    UserGroup,
    ViewRecord,
    Violation,
)
from immybot_slack_sandbox.slack_views_api import VIEW_METHODS
from immybot_slack_sandbox.slack_webhook import handle_webhook

JSON_FIELDS = ("blocks", "view", "attachments", "metadata", "files")


class FakeSlack:
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        app_token: str = "xapp-fake-app-token",
        team_id: str = "T0FAKE",
        team_name: str = "Fake MSP",
        bot_user_id: str = "U0IMMYBOT",
        bot_id: str = "B0IMMYBOT",
        app_id: str = "A0IMMYBOT",
    ) -> None:
        self.bot_token, self.app_token = bot_token, app_token
        self.team_id, self.team_name = team_id, team_name
        self.bot_user_id, self.bot_id, self.app_id = bot_user_id, bot_id, app_id
        self.url = ""
        self.users: dict[str, SlackUser] = {}
        self.channels: dict[str, SlackChannel] = {}
        self.groups: dict[str, UserGroup] = {}
        self.message_log: list[Message] = []
        self.ephemeral_log: list[Ephemeral] = []
        self.views: dict[str, ViewRecord] = {}
        self.homes: dict[str, ViewRecord] = {}
        self.files: dict[str, UploadedFile] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.call_log: list[Call] = []
        self.violations: list[Violation] = []
        self.warnings: list[Violation] = []
        self.socket = SocketHub(app_id)
        self._skew = 0.0
        self._ids = itertools.count(1)
        self._last_ts = (0, 0)
        self._rate_limits: dict[str, list[int]] = {}
        self._latency: dict[str, float] = {}
        self._failures: dict[str, list[Any]] = {}
        self.granted_scopes: set[str] | None = None  # None: every scope; a set: history reads check it
        self.add_user(bot_user_id, "immybot", real_name="ImmyBot", is_bot=True)
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/webhook/{hook_id}", self._webhook, methods=["POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
                WebSocketRoute("/link", self.socket.endpoint),
            ]
        )

    # ---- seeding ----------------------------------------------------------------------------------

    def add_user(
        self, id: str, name: str, *, real_name: str | None = None, email: str | None = None, is_bot: bool = False
    ) -> SlackUser:
        user = SlackUser(id=id, name=name, real_name=real_name or name.title(), email=email, is_bot=is_bot)
        self.users[id] = user
        return user

    def add_channel(
        self, id: str, name: str, *, members: Iterable[str] = (), bot_member: bool = True, private: bool = False
    ) -> SlackChannel:
        channel = SlackChannel(id=id, name=name, members=set(members), bot_member=bot_member, is_private=private)
        self.channels[id] = channel
        return channel

    def add_group(self, id: str, handle: str, users: Iterable[str]) -> UserGroup:
        group = UserGroup(id=id, handle=handle, users=list(users))
        self.groups[id] = group
        return group

    def dm_with(self, user_id: str) -> SlackChannel:
        for channel in self.channels.values():
            if channel.is_im and channel.im_user == user_id:
                return channel
        channel = SlackChannel(
            id="D" + user_id[1:], name=user_id, members={user_id}, bot_member=True, is_im=True, im_user=user_id
        )
        self.channels[channel.id] = channel
        return channel

    # ---- knobs ------------------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self._skew

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (trigger and response_url expiry) without sleeping."""
        self._skew += seconds

    def rate_limit(self, method: str, times: int = 1, *, retry_after: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 429, `Retry-After: retry_after`, `ratelimited`."""
        self._rate_limits[method] = [times, retry_after]

    def latency(self, method: str, seconds: float) -> None:
        self._latency[method] = seconds

    def fail(self, method: str, error: str, times: int | None = None) -> None:
        """`method` answers `{"ok": false, "error": error}` (the next `times` calls, or until `clear_faults`)."""
        self._failures[method] = [error, times]

    def clear_faults(self) -> None:
        self._rate_limits.clear()
        self._latency.clear()
        self._failures.clear()

    # ---- ids and records --------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def next_ts(self) -> str:
        seconds, seq = int(self.now()), self._last_ts[1] + 1
        seconds = max(seconds, self._last_ts[0])
        self._last_ts = (seconds, seq)
        return f"{seconds}.{seq:06d}"

    def violation(self, method: str, message: str) -> None:
        self.violations.append(Violation(method, message))

    def warn(self, method: str, message: str) -> None:
        self.warnings.append(Violation(method, message, severity="warning"))

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
    ) -> Message:
        message = Message(
            channel=channel,
            ts=self.next_ts(),
            user=user,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            metadata=metadata,
            reply_broadcast=reply_broadcast,
            via=via,
        )
        self.message_log.append(message)
        return message

    def add_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict],
        *,
        thread_ts: str | None = None,
        via: str = "chat.postEphemeral",
    ) -> Ephemeral:
        ephemeral = Ephemeral(channel, user, self.next_ts(), text, blocks, thread_ts, via)
        self.ephemeral_log.append(ephemeral)
        return ephemeral

    def find_message(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.message_log if m.channel == channel and m.ts == ts), None)

    # ---- what tests and the transcript read -------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self.call_log if method is None or c.method == method]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        count: int = 1,
    ) -> Call:
        """The `count`-th recorded call of `method` matching `predicate` (already made or still to come)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls(method) if predicate is None or predicate(c)]
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                seen = [(c.method, c.error) for c in self.call_log[-10:]]
                raise TimeoutError(f"no {method} call #{count} matched within {timeout} s; last calls: {seen}")
            await asyncio.sleep(0.005)

    async def wait_until(self, condition: Callable[[], Any], timeout: float = 5.0) -> Any:  # noqa: ASYNC109
        """Poll `condition()` until it returns something truthy, which is returned."""
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.005)
        return result

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of a channel (a DM: pass the user id or the D… id), oldest first."""
        if channel in self.users:
            channel = self.dm_with(channel).id
        return [m for m in self.message_log if m.channel == channel and not m.is_reply and not m.deleted]

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [m for m in self.message_log if m.channel == channel and m.thread_ts == ts and m.ts != ts]

    def view_stack(self, user: str) -> list[ViewRecord]:
        return [v for v in self.views.values() if v.user == user and not v.closed and v.view.get("type") == "modal"]

    def latest_view(self, user: str) -> ViewRecord | None:
        """The modal on top of `user`'s open stack."""
        stack = self.view_stack(user)
        return stack[-1] if stack else None

    def home(self, user: str) -> dict | None:
        record = self.homes.get(user)
        return record.view if record else None

    def ephemerals(self, user: str) -> list[Ephemeral]:
        return [e for e in self.ephemeral_log if e.user == user and not e.deleted]

    def assert_clean(self) -> None:
        """No payload was rejected as Slack would have (raise with the list otherwise)."""
        if self.violations:
            raise AssertionError("Slack would have rejected: " + "; ".join(v.message for v in self.violations))

    # ---- what the driver mints ----------------------------------------------------------------------

    def mint_trigger(self, user: str) -> str:
        trigger = Trigger(id=f"{next(self._ids)}.{int(self.now())}.fake{len(self.triggers):04x}", user=user,
                          issued_at=self.now())
        self.triggers[trigger.id] = trigger
        return trigger.id

    def mint_response_url(
        self, kind: str, user: str, channel: str, *, message_ts: str | None = None, ephemeral_ts: str | None = None
    ) -> str:
        if not self.url:
            raise RuntimeError("serve the fake Slack first (async with fake.serve())")
        hook = ResponseUrl(self.new_id("H"), kind, user, channel, self.now(), message_ts, ephemeral_ts)
        self.response_urls[hook.id] = hook
        return f"{self.url}/webhook/{hook.id}"

    # ---- HTTP -----------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[FakeSlack]:
        """Listen on 127.0.0.1:<free port>; `self.url` / `self.api_url` are set inside the block."""
        async with serve(self.app) as served:
            self.url = served.url
            try:
                yield self
            finally:
                await self.socket.close_all()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    async def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        if body:
            if "application/json" in request.headers.get("content-type", ""):
                params.update(json.loads(body))
            else:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        for key in JSON_FIELDS:
            if isinstance(params.get(key), str) and params[key][:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        return params

    def _auth(self, method: str, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if token == wanted:
            return
        if token in (self.bot_token, self.app_token):
            raise SlackError("not_allowed_token_type")
        raise SlackError("invalid_auth")

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        params = await self._params(request)
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else params.get("token")
        params.pop("token", None)
        call = Call(method=method, params=params, at=self.now())
        headers: dict[str, str] = {}
        try:
            handler = METHODS.get(method) or VIEW_METHODS.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            self._auth(method, token)
            if self._latency.get(method):
                await asyncio.sleep(self._latency[method])
            limit = self._rate_limits.get(method)
            if limit and limit[0] > 0:
                limit[0] -= 1
                call.status, headers["Retry-After"] = 429, str(limit[1])
                raise SlackError("ratelimited")
            failure = self._failures.get(method)
            if failure and failure[1] != 0:
                if failure[1] is not None:
                    failure[1] -= 1
                raise SlackError(failure[0])
            call.response = {"ok": True, **handler(self, params)}
        except SlackError as err:
            call.response = {"ok": False, "error": err.error}
            if err.detail:
                call.response["response_metadata"] = {"messages": [err.detail]}
        self.call_log.append(call)
        return JSONResponse(call.response, status_code=call.status, headers=headers)

    async def _webhook(self, request: Request) -> Response:
        hook = self.response_urls.get(request.path_params["hook_id"])
        status, text = handle_webhook(self, hook, await request.body())
        return PlainTextResponse(text, status_code=status)

    async def _upload(self, request: Request) -> Response:
        file = self.files.get(request.path_params["file_id"])
        if file is None:
            return PlainTextResponse("not_found", status_code=404)
        file.content = await request.body()
        return PlainTextResponse(f"OK - {len(file.content)}")
