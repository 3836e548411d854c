"""Small pydantic models for the pieces of Slack payloads the bot relies on.

A delivery that does not fit gets a clean 400 at the door (`check_body`), never a KeyError 500
inside a listener. Only the fields we read are modelled; everything else is allowed and ignored.
"""

from __future__ import annotations

from typing import Any, Literal

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


# Bolt context property set by the HTTP door once `check_body` passed, so the middleware does not redo it.
SHAPE_CHECKED: dict[str, Any] = {"shape_checked": True}


class BadPayload(ValueError):
    """The body is signed but is not a Slack delivery we understand (→ 400)."""


def check_body(data: object) -> None:
    """Raise `BadPayload` unless the decoded body is a well-formed command, interactive payload or event."""
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
