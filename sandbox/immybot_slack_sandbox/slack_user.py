"""Plays the people in Slack: builds real payloads and delivers them to the bot the way Slack does.

HTTP mode POSTs to the bot's `/slack/events`, signed (`v0:{ts}:{body}`, HMAC-SHA256 via slack_sdk's
`SignatureVerifier`); Socket Mode pushes the same payloads as envelopes over the fake's WebSocket and waits for
the ack. Either way the driver then does what Slack does with the answer: a command's ack body becomes an
ephemeral (or in-channel) message, `response_action`s change the modal, an options answer is checked and returned.

Negative knobs on every delivery: `retry_num=N` (X-Slack-Retry-Num), `sign=False`, `stale=True` (10 min old),
`forge=True` (signed with the wrong secret).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from immybot_slack_sandbox import slack_payloads as p
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_state import ViewRecord
from immybot_slack_sandbox.slack_validate import BlockKitError, check_message, check_options, check_view

ViewRef = ViewRecord | str | None


@dataclass
class Delivery:
    """What the bot answered: HTTP status and body (Socket Mode: 200 and the ack's payload, or 0 if never acked)."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)
    envelope_id: str | None = None

    def json(self) -> Any:
        return json.loads(self.text) if self.text.strip() else None


class SlackDriver:
    def __init__(
        self,
        fake: FakeSlack,
        *,
        signing_secret: str = "",
        bot_url: str = "",
        mode: Literal["http", "socket"] = "http",
        path: str = "/slack/events",
        ack_timeout: float = 3.5,
    ) -> None:
        self.fake, self.signing_secret, self.mode = fake, signing_secret, mode
        self.endpoint = bot_url.rstrip("/") + path
        self.ack_timeout = ack_timeout
        self._http = httpx.AsyncClient(timeout=10.0, trust_env=False)
        self._events = itertools.count(1)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SlackDriver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- delivery -------------------------------------------------------------------------------

    def signed_headers(self, body: str, *, stale: bool = False, forge: bool = False) -> dict[str, str]:
        timestamp = str(int(time.time()) - (600 if stale else 0))
        secret = ("forged-" + self.signing_secret) if forge else self.signing_secret
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}

    async def deliver(
        self,
        kind: Literal["slash_commands", "interactive", "events_api"],
        payload: dict[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        sign: bool = True,
        stale: bool = False,
        forge: bool = False,
    ) -> Delivery:
        if self.mode == "socket":
            envelope_id = await self.fake.socket.send(
                kind, payload, retry_attempt=retry_num or 0, retry_reason=retry_reason if retry_num else ""
            )
            try:
                ack = await self.fake.socket.wait_ack(envelope_id, timeout=self.ack_timeout)
            except TimeoutError:
                return Delivery(0, "", envelope_id=envelope_id)
            return Delivery(200, json.dumps(ack) if ack else "", envelope_id=envelope_id)
        if kind == "slash_commands":
            body, ctype = urlencode(payload), "application/x-www-form-urlencoded"
        elif kind == "interactive":
            body, ctype = "payload=" + quote(json.dumps(payload)), "application/x-www-form-urlencoded"
        else:
            body, ctype = json.dumps(payload), "application/json"
        headers = {"Content-Type": ctype}
        if sign:
            headers.update(self.signed_headers(body, stale=stale, forge=forge))
        if retry_num is not None:
            headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason})
        response = await self._http.post(self.endpoint, content=body.encode("utf-8"), headers=headers)
        return Delivery(response.status_code, response.text, dict(response.headers))

    # ---- a person's gestures --------------------------------------------------------------------

    async def slash(self, user: str, channel: str, text: str = "", command: str = "/immy", **opts: Any) -> Delivery:
        """Type `/immy text` in `channel`; the ack body, if any, shows up as Slack would show it."""
        chan = self.fake.channels.get(channel)
        form = {
            **{k: v for k, v in p.base(self.fake).items() if k in ("token", "api_app_id")},
            "team_id": self.fake.team_id,
            "team_domain": "fake-msp",
            "channel_id": channel,
            "channel_name": chan.name if chan else "unknown",
            "user_id": user,
            "user_name": p.user_ref(self.fake, user)["name"],
            "command": command,
            "text": text,
            "is_enterprise_install": "false",
            "response_url": self.fake.mint_response_url("command", user, channel),
            "trigger_id": self.fake.mint_trigger(user),
        }
        delivery = await self.deliver("slash_commands", form, **opts)
        self._show_command_ack(user, channel, delivery)
        return delivery

    def _show_command_ack(self, user: str, channel: str, delivery: Delivery) -> None:
        if delivery.status != 200 or not delivery.text.strip():
            return
        try:
            data = delivery.json()
        except ValueError:
            data = {"text": delivery.text}
        if not isinstance(data, dict):
            return
        text, blocks = data.get("text") or "", data.get("blocks") or []
        try:
            check_message(text, blocks, where="slash ack")
        except BlockKitError as err:
            self.fake.violation("slash ack", str(err))
            return
        if data.get("response_type") == "in_channel":
            self.fake.add_message(channel, self.fake.bot_user_id, text, blocks, via="response_url")
        else:
            self.fake.add_ephemeral(channel, user, text, blocks, via="ack")

    def _view(self, user: str, view: ViewRef) -> ViewRecord:
        if isinstance(view, ViewRecord):
            return view
        record = self.fake.views.get(view) if isinstance(view, str) else self.fake.latest_view(user)
        if record is None or record.closed:
            raise LookupError(f"{user} has no open modal {view or ''}".strip())
        return record

    def _view_payload(self, record: ViewRecord) -> dict[str, Any]:
        return record.to_api(team_id=self.fake.team_id, app_id=self.fake.app_id, bot_id=self.fake.bot_id)

    async def suggest(
        self, user: str, view: ViewRef, action_id: str, value: str, block_id: str | None = None, **opts: Any
    ) -> list[dict]:
        """Type `value` into an external select; returns the options the bot offered (checked like Slack)."""
        record = self._view(user, view)
        block, _ = p.find_element(record.blocks, action_id, block_id)
        payload = {
            **p.base(self.fake),
            "type": "block_suggestion",
            "user": p.user_ref(self.fake, user),
            "container": {"type": "view", "view_id": record.id},
            "action_id": action_id,
            "block_id": block["block_id"],
            "value": value,
            "view": self._view_payload(record),
        }
        delivery = await self.deliver("interactive", payload, **opts)
        data = delivery.json() if delivery.status == 200 else None
        if not isinstance(data, dict):
            return []
        options = data.get("options")
        if options is None:
            options = [o for g in data.get("option_groups", []) for o in g.get("options", [])]
        try:
            check_options(options, f"block_suggestion {action_id}")
        except BlockKitError as err:
            self.fake.violation("block_suggestion", str(err))
        return options

    async def submit(
        self, user: str, view: ViewRef, values: dict[str, dict[str, dict[str, Any]]] | None = None, **opts: Any
    ) -> Delivery:
        """Press Submit on a modal with `values` (`view.state.values`; see `values_for`), then apply the answer."""
        record = self._view(user, view)
        record.state = p.complete_state(record.view, values or {})
        payload = {
            **p.base(self.fake),
            "type": "view_submission",
            "user": p.user_ref(self.fake, user),
            "trigger_id": self.fake.mint_trigger(user),
            "view": self._view_payload(record),
            "response_urls": [],
        }
        delivery = await self.deliver("interactive", payload, **opts)
        if delivery.status == 200:
            self._apply_view_answer(record, delivery)
        return delivery

    def _apply_view_answer(self, record: ViewRecord, delivery: Delivery) -> None:
        data = delivery.json() if delivery.text.strip() else None
        action = data.get("response_action") if isinstance(data, dict) else None
        if action == "errors":
            errors = data.get("errors") or {}
            inputs = {b["block_id"] for b, _ in p.input_elements(record.view)}
            unknown = sorted(set(errors) - inputs)
            if unknown or not errors:
                self.fake.violation("view_submission", f"errors for blocks that are not inputs: {unknown}")
            record.errors = dict(errors)
        elif action in ("update", "push"):
            try:
                check_view(data.get("view"), where=f"response_action {action}")
            except BlockKitError as err:
                self.fake.violation("view_submission", str(err))
                return
            if action == "update":
                record.view, record.errors, record.updates = data["view"], {}, record.updates + 1
            else:
                pushed = ViewRecord(id=self.fake.new_id("V"), user=record.user, hash=f"{time.time():.6f}.p",
                                    view=data["view"], root_view_id=record.root_view_id or record.id,
                                    previous_view_id=record.id)
                self.fake.views[pushed.id] = pushed
        elif action == "clear":
            for other in self.fake.view_stack(record.user):
                other.closed = True
        else:
            record.closed = True

    async def close_view(self, user: str, view: ViewRef = None) -> None:
        """Press Cancel (no `view_closed` event: the modals here don't ask for notify_on_close)."""
        self._view(user, view).closed = True

    async def click(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
        **opts: Any,
    ) -> Delivery:
        """Click a button (or pick from a menu) on a message or an ephemeral message the user can see."""
        message = self.fake.find_message(channel, message_ts)
        ephemeral = next((e for e in self.fake.ephemerals(user) if e.ts == message_ts), None)
        if message is None and ephemeral is None:
            raise LookupError(f"no message {message_ts} in {channel} visible to {user}")
        blocks = message.blocks if message else ephemeral.blocks  # type: ignore[union-attr]
        block, element = p.find_element(blocks, action_id, block_id)
        chan = self.fake.channels.get(channel)
        payload = {
            **p.base(self.fake),
            "type": "block_actions",
            "user": p.user_ref(self.fake, user),
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                          "is_ephemeral": message is None},
            "trigger_id": self.fake.mint_trigger(user),
            "channel": {"id": channel, "name": chan.name if chan else channel},
            "state": {"values": {}},
            "response_url": self.fake.mint_response_url(
                "action", user, channel, message_ts=message_ts, ephemeral_ts=None if message else message_ts
            ),
            "actions": [p.action_entry(block, element, value)],
        }
        if message is not None:
            payload["message"] = message.to_api(self.fake.bot_id)
        return await self.deliver("interactive", payload, **opts)

    async def click_in_view(
        self,
        user: str,
        view: ViewRef,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
        **opts: Any,
    ) -> Delivery:
        """Click inside an open modal (or pass `view=fake.homes[user]` for the home tab)."""
        record = self._view(user, view)
        block, element = p.find_element(record.blocks, action_id, block_id)
        payload = {
            **p.base(self.fake),
            "type": "block_actions",
            "user": p.user_ref(self.fake, user),
            "container": {"type": "view", "view_id": record.id},
            "trigger_id": self.fake.mint_trigger(user),
            "view": self._view_payload(record),
            "actions": [p.action_entry(block, element, value)],
        }
        return await self.deliver("interactive", payload, **opts)

    async def click_in_home(
        self, user: str, action_id: str, value: str | None = None, block_id: str | None = None, **opts: Any
    ) -> Delivery:
        record = self.fake.homes.get(user)
        if record is None:
            raise LookupError(f"{user} has no home tab published")
        return await self.click_in_view(user, record, action_id, value, block_id, **opts)

    async def open_home(self, user: str, **opts: Any) -> Delivery:
        """Open the app's Home tab: an `app_home_opened` event with a fresh event_id."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.fake.dm_with(user).id,
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        if user in self.fake.homes:
            event["view"] = self._view_payload(self.fake.homes[user])
        return await self.send_event(event, **opts)

    async def send_event(self, event: dict[str, Any], *, event_id: str | None = None, **opts: Any) -> Delivery:
        """Deliver any Events API event; pass the same `event_id` with `retry_num=1` to replay a delivery."""
        event_id = event_id or f"Ev{next(self._events):08d}{int(time.time())}"
        return await self.deliver("events_api", p.event_callback(self.fake, event, event_id), **opts)


values_for = p.values_for
__all__ = ["Delivery", "SlackDriver", "values_for"]
