"""Global Bolt middleware: drop repeated deliveries before any listener runs.

Slack retries events (`X-Slack-Retry-Num`, Socket Mode `retry_attempt`), and people double-click.
Every event, action and submission gets a dedup key; the first one to claim it in the store is
handled, every later one is answered 200 and skipped. Options loads (read-only) are never deduped.

Slash commands are NOT claimed in the store here: Slack does not retry them, the modal they open
has to be opened within 3 s of a single-use `trigger_id` (a replay gets `exchanged_trigger_id`,
which the modal opener swallows), and the effectful sub-commands (`cancel`, `audit`) claim
`command_key(...)` themselves, after the ack. A cheap in-process memory of recent trigger ids
still answers a repeated delivery 200 without running anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.payloads import BadPayload, check_body

log = logging.getLogger(__name__)

Claim = Callable[[str], Awaitable[bool]]

RECENT_COMMANDS = 4096


class RecentKeys:
    """A bounded, in-process set of recently seen keys (oldest forgotten first)."""

    def __init__(self, size: int = RECENT_COMMANDS) -> None:
        self._size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def first_time(self, key: str) -> bool:
        """Remember `key`; True when it was not already remembered."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True

    def clear(self) -> None:
        self._keys.clear()


_recent: weakref.WeakKeyDictionary[AsyncApp, RecentKeys] = weakref.WeakKeyDictionary()


def recent_commands(app: AsyncApp) -> RecentKeys:
    """The app's memory of recent slash-command trigger ids (tests clear it to mimic a restart)."""
    return _recent.setdefault(app, RecentKeys())


def command_key(body: dict[str, Any]) -> str | None:
    """The identity of one slash command delivery (its single-use trigger), for claims after the ack."""
    if body.get("command") and body.get("trigger_id"):
        return f"command:{body['trigger_id']}"
    return None


def delivery_key(body: dict[str, Any]) -> str | None:
    """The durable identity of one delivery, equal for a retry or a replay of it.

    None for read-only ones (options loads) and for slash commands (see the module docstring).
    """
    kind = body.get("type")
    if kind == "event_callback":
        return f"event:{body.get('event_id')}"
    if kind == "view_submission":
        view = body.get("view") or {}
        state = json.dumps(view.get("state") or {}, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(state.encode()).hexdigest()[:20]
        # the same view may be submitted again after validation errors, with other values
        return f"view:{view.get('id')}:{digest}"
    if kind == "block_actions":
        container = body.get("container") or {}
        where = container.get("message_ts") or container.get("view_id") or ""
        user = (body.get("user") or {}).get("id")
        action = (body.get("actions") or [{}])[0]
        return f"action:{where}:{action.get('action_id')}:{user}:{action.get('action_ts')}"
    return None


class _RepeatedDeliveries(AsyncMiddleware):
    """A plain `AsyncMiddleware`, not a decorated function: Bolt builds some thirty keyword arguments for
    every call of a function middleware, on every keystroke of a typeahead."""

    def __init__(self, app: AsyncApp, claim: Claim, on_duplicate: Callable[[str], None] | None) -> None:
        self.recent, self.claim, self.on_duplicate = recent_commands(app), claim, on_duplicate

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        body = req.body
        command = command_key(body)
        key = command or delivery_key(body)
        repeated = not self.recent.first_time(command) if command is not None else (
            key is not None and not await self.claim(key))
        if key is not None and repeated:
            log.info("skipped a repeated Slack delivery", extra={"dedup_key": key})
            if self.on_duplicate is not None:
                self.on_duplicate(key)
            return BoltResponse(status=200, body="")
        return await next()


OptionsAnswer = Callable[[dict[str, Any]], Awaitable[bytes]]
_direct_options: weakref.WeakKeyDictionary[AsyncApp, dict[str, OptionsAnswer]] = weakref.WeakKeyDictionary()


def answer_options_directly(app: AsyncApp, action_id: str, answer: OptionsAnswer) -> None:
    """Let the HTTP door answer the options loads of `action_id` itself with `answer(payload)` (the
    encoded `{"options": [...]}`), without Bolt's dispatch: a typeahead sends one per keystroke.

    Only for read-only loads that need nothing from the middleware: options loads are never deduped,
    the door checks their signature and shape, and `answer` runs the listener's own gates."""
    _direct_options.setdefault(app, {})[action_id] = answer


def direct_options(app: AsyncApp) -> dict[str, OptionsAnswer]:
    """The app's directly answered options loads by action id (a live view: later ones show up)."""
    return _direct_options.setdefault(app, {})


def install_dedup(app: AsyncApp, claim: Claim, on_duplicate: Callable[[str], None] | None = None) -> None:
    app.middleware(_RepeatedDeliveries(app, claim, on_duplicate))


class _MalformedDeliveries(AsyncMiddleware):
    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        if req.context.get("shape_checked"):  # the HTTP door (bot.web) already checked this very parse
            return await next()
        try:
            check_body(req.body)
        except BadPayload as error:
            log.info("rejected a malformed Slack delivery", extra={"reason": str(error)})
            return BoltResponse(status=400, body="")
        return await next()


def install_shape_check(app: AsyncApp) -> None:
    """Socket Mode deliveries skip the HTTP door: check their shape here too (→ 400, no listener)."""
    app.middleware(_MalformedDeliveries())
