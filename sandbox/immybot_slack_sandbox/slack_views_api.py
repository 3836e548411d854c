"""`views.*` of the fake Slack: triggers (3 s, single use), hashes, external ids, the modal stack, home tabs."""

from __future__ import annotations

import secrets
from typing import Any

from immybot_slack_sandbox.slack_methods import Handler, SlackError, required
from immybot_slack_sandbox.slack_state import Trigger, ViewRecord
from immybot_slack_sandbox.slack_validate import BlockKitError, check_view
from immybot_slack_sandbox.slack_world import SlackWorld

TRIGGER_TTL_SECONDS = 3.0
STACK_MAX = 3  # views.open plus two pushes


def new_hash(fake: SlackWorld) -> str:
    return f"{fake.now():.6f}.{secrets.token_hex(4)}"


def use_trigger(fake: SlackWorld, trigger_id: str) -> Trigger:
    trigger = fake.triggers.get(trigger_id)
    if trigger is None:
        raise SlackError("invalid_trigger_id")
    if trigger.used:
        raise SlackError("exchanged_trigger_id")
    if fake.now() - trigger.issued_at > TRIGGER_TTL_SECONDS:
        raise SlackError("expired_trigger_id")
    trigger.used = True
    return trigger


def checked_view(fake: SlackWorld, method: str, view: Any) -> dict:
    try:
        check_view(view, where=method)
    except BlockKitError as err:
        fake.violation(method, str(err))
        raise SlackError(err.error, str(err)) from None
    return view


def carried_state(old: ViewRecord, new_view: dict) -> dict[str, dict[str, Any]]:
    """Slack keeps what was typed into inputs whose block_id survives an update."""
    kept = {b.get("block_id") for b in new_view.get("blocks", []) if b.get("type") == "input"}
    return {block_id: value for block_id, value in old.state.items() if block_id in kept}


def _api(fake: SlackWorld, record: ViewRecord) -> dict[str, Any]:
    return {"view": record.to_api(team_id=fake.team_id, app_id=fake.app_id, bot_id=fake.bot_id)}


def _external_id(fake: SlackWorld, view: dict, exclude: str | None = None) -> str | None:
    external_id = view.get("external_id") or None
    if external_id and any(v.external_id == external_id and v.id != exclude for v in fake.views.values()):
        raise SlackError("duplicate_external_id")
    return external_id


def views_open(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    view = checked_view(fake, "views.open", required(params, "view"))
    if view.get("type") != "modal":
        raise SlackError("invalid_arguments", "views.open takes a modal")
    trigger = use_trigger(fake, str(required(params, "trigger_id")))
    for old in fake.views.values():  # a new modal replaces whatever stack the user had open
        if old.user == trigger.user and old.view.get("type") == "modal":
            old.closed = True
    record = ViewRecord(
        id=fake.new_id("V"), user=trigger.user, hash=new_hash(fake), view=view, external_id=_external_id(fake, view)
    )
    fake.views[record.id] = record
    return _api(fake, record)


def views_push(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    view = checked_view(fake, "views.push", required(params, "view"))
    trigger = use_trigger(fake, str(required(params, "trigger_id")))
    stack = fake.view_stack(trigger.user)
    if not stack:
        raise SlackError("not_found", "no open modal to push onto")
    if len(stack) >= STACK_MAX:
        raise SlackError("push_limit_reached")
    top = stack[-1]
    record = ViewRecord(
        id=fake.new_id("V"),
        user=trigger.user,
        hash=new_hash(fake),
        view=view,
        external_id=_external_id(fake, view),
        root_view_id=top.root_view_id or top.id,
        previous_view_id=top.id,
    )
    fake.views[record.id] = record
    return _api(fake, record)


def views_update(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    view = checked_view(fake, "views.update", required(params, "view"))
    record = None
    if params.get("view_id"):
        record = fake.views.get(str(params["view_id"]))
    elif params.get("external_id"):
        record = next((v for v in fake.views.values() if v.external_id == params["external_id"]), None)
    else:
        raise SlackError("invalid_arguments", "views.update needs view_id or external_id")
    if record is None or record.closed:
        raise SlackError("not_found")
    if params.get("hash") and params["hash"] != record.hash:
        raise SlackError("hash_conflict")
    record.state = carried_state(record, view)
    record.external_id = _external_id(fake, view, exclude=record.id) or record.external_id
    record.view, record.hash, record.errors = view, new_hash(fake), {}
    record.updates += 1
    return _api(fake, record)


def views_publish(fake: SlackWorld, params: dict[str, Any]) -> dict[str, Any]:
    view = checked_view(fake, "views.publish", required(params, "view"))
    if view.get("type") != "home":
        raise SlackError("invalid_arguments", "views.publish takes a home view")
    user = str(required(params, "user_id"))
    if user not in fake.users:
        raise SlackError("user_not_found")
    current = fake.homes.get(user)
    if current is not None and params.get("hash") and params["hash"] != current.hash:
        raise SlackError("hash_conflict")
    record = ViewRecord(
        id=current.id if current else fake.new_id("V"), user=user, hash=new_hash(fake), view=view
    )
    if current is not None:
        record.updates = current.updates + 1
    fake.homes[user] = record
    return _api(fake, record)


VIEW_METHODS: dict[str, Handler] = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
