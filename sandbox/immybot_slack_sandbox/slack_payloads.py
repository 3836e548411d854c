"""Payloads as Slack sends them (NOTES §1.6 and Bolt's own fixtures), and view state values.

`values_for(view, software="Global:714", computers=["101"], reason="...")` builds `view.state.values` from a
modal's blocks, keyed by block_id, converting each Python value by the element's type; inputs not named keep
their initial value (as Slack does). `SlackClientRefused` is what Slack's own client would stop before sending:
an empty required input, a bad email, text over `max_length`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from immybot_slack_sandbox.slack_world import SlackWorld

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SINGLE_OPTION = {"external_select", "static_select", "radio_buttons"}
_MULTI_OPTION = {"multi_external_select", "multi_static_select", "checkboxes"}
_SCALAR = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}
_INITIAL = {
    "value": "initial_value",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
}


class SlackClientRefused(ValueError):
    """Slack's client would not send this (a required input is empty, an email is malformed, ...)."""


def user_ref(fake: SlackWorld, user_id: str) -> dict[str, Any]:
    user = fake.users.get(user_id)
    name = user.name if user else user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": fake.team_id}


def base(fake: SlackWorld) -> dict[str, Any]:
    return {
        "team": {"id": fake.team_id, "domain": "fake-msp"},
        "api_app_id": fake.app_id,
        "token": "verification-token-unused",
        "is_enterprise_install": False,
        "enterprise": None,
    }


def input_elements(view: dict) -> Iterator[tuple[dict, dict]]:
    for block in view.get("blocks", []):
        if block.get("type") == "input":
            yield block, block["element"]


def _options_of(element: dict) -> list[dict]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options", []))
    return options


def _as_option(element: dict, value: Any) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, tuple):
        return {"text": {"type": "plain_text", "text": value[1]}, "value": str(value[0])}
    if element["type"] in ("external_select", "multi_external_select"):
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    for opt in _options_of(element):
        if opt["value"] == str(value):
            return opt
    raise SlackClientRefused(f"{element.get('action_id')}: {value!r} is not one of its options")


def state_value(element: dict, value: Any) -> dict[str, Any]:
    """One `view.state.values[block_id][action_id]` entry for `value` typed or picked by a person."""
    kind = element["type"]
    if kind in _SINGLE_OPTION:
        return {"type": kind, "selected_option": None if value is None else _as_option(element, value)}
    if kind in _MULTI_OPTION:
        if value is True:
            value = [o["value"] for o in _options_of(element)]
        chosen = [_as_option(element, v) for v in (value or [])]
        limit = element.get("max_selected_items")
        if limit and len(chosen) > limit:
            raise SlackClientRefused(f"{element.get('action_id')}: at most {limit} items can be selected")
        return {"type": kind, "selected_options": chosen}
    if kind in _SCALAR:
        return {"type": kind, _SCALAR[kind]: value}
    raise SlackClientRefused(f"the driver cannot fill a {kind!r} element")


def initial_state(element: dict) -> dict[str, Any]:
    kind = element["type"]
    if kind in _SINGLE_OPTION:
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind in _MULTI_OPTION:
        return {"type": kind, "selected_options": list(element.get("initial_options") or [])}
    key = _SCALAR.get(kind, "value")
    return {"type": kind, key: element.get(_INITIAL.get(key, ""))}


def _is_empty(state: dict[str, Any]) -> bool:
    return all(v in (None, "", []) for k, v in state.items() if k != "type")


def _client_checks(block: dict, element: dict, state: dict[str, Any]) -> None:
    label = block.get("label", {}).get("text", block.get("block_id"))
    if _is_empty(state):
        if not block.get("optional"):
            raise SlackClientRefused(f"“{label}” is required: Slack's client will not submit the form")
        return
    value = state.get("value")
    if element["type"] == "email_text_input" and value and not _EMAIL.match(str(value)):
        raise SlackClientRefused(f"“{label}”: {value!r} is not an email address")
    if element["type"] == "plain_text_input" and value is not None:
        if element.get("max_length") and len(value) > element["max_length"]:
            raise SlackClientRefused(f"“{label}”: over {element['max_length']} characters")
        if element.get("min_length") and len(value) < element["min_length"]:
            raise SlackClientRefused(f"“{label}”: under {element['min_length']} characters")


def values_for(view: dict, **values: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """`view.state.values` for a modal: named inputs (by block_id, or action_id) set, the rest initial."""
    state: dict[str, dict[str, dict[str, Any]]] = {}
    named = dict(values)
    for block, element in input_elements(view):
        block_id, action_id = block["block_id"], element["action_id"]
        if block_id in named:
            entry = state_value(element, named.pop(block_id))
        elif action_id in named:
            entry = state_value(element, named.pop(action_id))
        else:
            entry = initial_state(element)
        state[block_id] = {action_id: entry}
    if named:
        raise SlackClientRefused(f"no input in this view for {sorted(named)}")
    return state


def complete_state(view: dict, given: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Fill inputs missing from `given` with their initial values and run the client-side checks."""
    state: dict[str, dict[str, dict[str, Any]]] = {}
    for block, element in input_elements(view):
        block_id, action_id = block["block_id"], element["action_id"]
        entry = (given.get(block_id) or {}).get(action_id) or initial_state(element)
        _client_checks(block, element, entry)
        state[block_id] = {action_id: entry}
    return state


def find_element(blocks: list[dict], action_id: str, block_id: str | None = None) -> tuple[dict, dict]:
    """The (block, element) carrying `action_id` (in `block_id` if given); LookupError if not on screen."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        candidates = [block.get("element"), block.get("accessory"), *(block.get("elements") or [])]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    raise LookupError(f"no element with action_id {action_id!r} (block {block_id!r}) is on screen")


def action_entry(block: dict, element: dict, value: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block.get("block_id", ""),
        "type": element["type"],
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] == "button":
        entry.update(value=value if value is not None else element.get("value"), text=element.get("text"))
        if element.get("style"):
            entry["style"] = element["style"]
    elif value is not None:
        entry["selected_option"] = _as_option(element, value)
    return entry


def event_callback(fake: SlackWorld, event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "token": "verification-token-unused",
        "team_id": fake.team_id,
        "api_app_id": fake.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": fake.team_id, "user_id": fake.bot_user_id, "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }
