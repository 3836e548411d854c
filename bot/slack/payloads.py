"""Small pydantic models for the pieces of Slack payloads the bot relies on.

A delivery that does not fit gets a clean 400 at the door (`check_shape`), never a KeyError 500
inside a listener. Only the fields we read are modelled; everything else is allowed and ignored.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class SlashCommand(_Loose):
    command: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    trigger_id: str = Field(min_length=1)
    channel_id: str = ""
    text: str = ""
    response_url: str = ""


class UserRef(_Loose):
    id: str = Field(min_length=1)


class ViewRef(_Loose):
    id: str = Field(min_length=1)
    callback_id: str = ""
    private_metadata: str = ""
    hash: str = ""
    state: dict[str, Any] = Field(default_factory=dict)


class Action(_Loose):
    action_id: str = Field(min_length=1)
    block_id: str = ""
    value: str | None = None
    action_ts: str = ""


class Container(_Loose):
    type: str = ""
    message_ts: str | None = None
    channel_id: str | None = None
    view_id: str | None = None


class Interactive(_Loose):
    type: Literal["block_actions", "view_submission", "view_closed", "block_suggestion", "shortcut",
                  "message_action"]
    user: UserRef


class BlockActions(Interactive):
    type: Literal["block_actions"]
    actions: list[Action] = Field(min_length=1)
    container: Container = Field(default_factory=Container)
    trigger_id: str = ""
    response_url: str | None = None
    view: ViewRef | None = None


class ViewSubmission(Interactive):
    type: Literal["view_submission"]
    view: ViewRef


class BlockSuggestion(Interactive):
    type: Literal["block_suggestion"]
    action_id: str = Field(min_length=1)
    value: str = ""


class EventCallback(_Loose):
    type: Literal["event_callback"]
    event_id: str = Field(min_length=1)
    event: dict[str, Any]


class UrlVerification(_Loose):
    type: Literal["url_verification"]
    challenge: str


_INTERACTIVE_MODELS: dict[str, type[Interactive]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "block_suggestion": BlockSuggestion,
}


# Bolt context property set by the HTTP door once `check_shape` passed, so the middleware does not redo it.
SHAPE_CHECKED: dict[str, Any] = {"shape_checked": True}


class BadPayload(ValueError):
    """The body is signed but is not a Slack delivery we understand (→ 400)."""


def check_shape(body: bytes, content_type: str) -> None:
    """Raise `BadPayload` unless `body` is a well-formed command, interactive payload or event."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadPayload("body is not UTF-8") from error
    if content_type.startswith("application/json"):
        _check_json_event(text)
        return
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        _check_interactive(form["payload"][0])
        return
    try:
        SlashCommand.model_validate({k: v[0] for k, v in form.items()})
    except ValidationError as error:
        raise BadPayload("not a slash command") from error


def check_body(data: object) -> None:
    """The same checks for an already-decoded body (Socket Mode hands Bolt a dict)."""
    if not isinstance(data, dict):
        raise BadPayload("body is not an object")
    if "command" in data:
        try:
            SlashCommand.model_validate(data)
        except ValidationError as error:
            raise BadPayload("not a slash command") from error
    elif data.get("type") in ("event_callback", "url_verification"):
        _check_event_dict(data)
    else:
        _check_interactive_dict(data)


def _check_interactive(raw: str) -> None:
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise BadPayload("payload is not JSON") from error
    _check_interactive_dict(data)


def _check_interactive_dict(data: object) -> None:
    if not isinstance(data, dict):
        raise BadPayload("payload is not an object")
    try:
        Interactive.model_validate(data)
        model = _INTERACTIVE_MODELS.get(str(data.get("type")))
        if model is not None:
            model.model_validate(data)
    except ValidationError as error:
        raise BadPayload(f"malformed {data.get('type')!s} payload") from error


def _check_json_event(text: str) -> None:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise BadPayload("body is not JSON") from error
    _check_event_dict(data)


def _check_event_dict(data: object) -> None:
    if not isinstance(data, dict):
        raise BadPayload("body is not an object")
    try:
        if data.get("type") == "url_verification":
            UrlVerification.model_validate(data)
        else:
            EventCallback.model_validate(data)
    except ValidationError as error:
        raise BadPayload("malformed event") from error
