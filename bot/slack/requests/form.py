"""The request modal's submitted state, parsed with pydantic into plain values (no rules here).

A value that does not parse (an unknown enum, a non-numeric computer id) is a `FormError` on its
block, shown in the modal like any other validation error.
"""

from __future__ import annotations

import json
from datetime import time
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.slack.requests import ids
from bot.workflow.model import DesiredState, OfflineBehavior, RebootPreference
from bot.workflow.schedule import Schedule, ScheduleError, When, parse_hhmm


class FormError(Exception):
    """Errors keyed by block id (`response_action: errors`); `reason` is what the audit row says."""

    def __init__(self, errors: dict[str, str], reason: str | None = None) -> None:
        super().__init__(reason or next(iter(errors.values())))
        self.errors = errors
        self.reason = reason or next(iter(errors.values()))


class _Selected(BaseModel):
    model_config = ConfigDict(extra="allow")
    value: str


class _Element(BaseModel):
    model_config = ConfigDict(extra="allow")
    value: str | None = None
    selected_option: _Selected | None = None
    selected_options: list[_Selected] | None = None
    selected_user: str | None = None
    selected_time: str | None = None


class _State(BaseModel):
    values: dict[str, dict[str, _Element]] = {}


class RequestForm(BaseModel):
    software_key: str | None
    action: DesiredState
    computer_ids: list[int]
    person: str | None
    email: str | None
    reboot: RebootPreference
    offline: OfflineBehavior
    preview: bool
    reason: str
    channel: str
    prefill: str
    when: When = When.NOW
    run_time: time | None = None  # the picked clock time (only with When.AT_TIME, checked at parse)

    def schedule(self, profile_tz: str | None) -> Schedule:
        """The chosen schedule in the requester's profile time zone (UTC, flagged, when it has none)."""
        return Schedule.chosen(self.when, self.run_time, profile_tz)

    @property
    def target_blocks(self) -> list[str]:
        """The target inputs that were filled in (a submission must fill exactly one)."""
        filled = [(ids.COMPUTERS_BLOCK, bool(self.computer_ids)), (ids.PERSON_BLOCK, bool(self.person)),
                  (ids.EMAIL_BLOCK, bool(self.email))]
        return [block for block, present in filled if present]


def _element(state: _State, block: str, action: str) -> _Element:
    return state.values.get(block, {}).get(action) or _Element()


def _choice(state: _State, block: str, action: str, kind: type[Any], default: Any) -> Any:
    chosen = _element(state, block, action).selected_option
    if chosen is None:
        return default
    try:
        return kind(chosen.value)
    except ValueError:
        raise FormError({block: "Pick one of the choices."}, f"invalid {block} choice") from None


def _when(state: _State) -> tuple[When, time | None]:
    """The "When" radio and its time picker, consistent with each other or a FormError on the block at fault."""
    when = _choice(state, ids.WHEN_BLOCK, ids.WHEN_ACTION, When, When.NOW)
    picked = _element(state, ids.WHEN_TIME_BLOCK, ids.WHEN_TIME_ACTION).selected_time
    try:
        run_time = parse_hhmm(picked) if picked else None
    except ScheduleError:
        raise FormError({ids.WHEN_TIME_BLOCK: "Pick a time from the list."}, "invalid time") from None
    if when is When.AT_TIME and run_time is None:
        raise FormError({ids.WHEN_TIME_BLOCK: "Pick the time to run it at, or choose another “When”."},
                        "at a time without a time")
    if when is not When.AT_TIME and run_time is not None:
        raise FormError({ids.WHEN_BLOCK: f"You picked {run_time:%H:%M}: choose “At a time”, or clear the time."},
                        "a time without at a time")
    return when, run_time


def parse_metadata(raw: str) -> tuple[str, str]:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("channel") or ""), str(data.get("prefill") or "")


def parse_request_form(view: dict[str, Any]) -> RequestForm:
    try:
        state = _State.model_validate(view.get("state") or {})
    except ValidationError:
        raise FormError({ids.SOFTWARE_BLOCK: "The form could not be read; please open it again."},
                        "unreadable form") from None
    software = _element(state, ids.SOFTWARE_BLOCK, ids.SOFTWARE_ACTION).selected_option
    computers = _element(state, ids.COMPUTERS_BLOCK, ids.COMPUTERS_ACTION).selected_options or []
    try:
        computer_ids = list(dict.fromkeys(int(c.value) for c in computers))
    except ValueError:
        raise FormError({ids.COMPUTERS_BLOCK: "Pick computers from the list."}, "invalid computer id") from None
    preview = _element(state, ids.PREVIEW_BLOCK, ids.PREVIEW_ACTION).selected_options or []
    channel, prefill = parse_metadata(str(view.get("private_metadata") or ""))
    when, run_time = _when(state)
    email = (_element(state, ids.EMAIL_BLOCK, ids.EMAIL_ACTION).value or "").strip()
    return RequestForm(
        software_key=software.value if software else None,
        action=_choice(state, ids.ACTION_BLOCK, ids.ACTION_ACTION, DesiredState, DesiredState.LATEST),
        computer_ids=computer_ids,
        person=_element(state, ids.PERSON_BLOCK, ids.PERSON_ACTION).selected_user or None,
        email=email or None,
        reboot=_choice(state, ids.REBOOT_BLOCK, ids.REBOOT_ACTION, RebootPreference, RebootPreference.SUPPRESS),
        offline=_choice(state, ids.OFFLINE_BLOCK, ids.OFFLINE_ACTION, OfflineBehavior, OfflineBehavior.SKIP),
        preview=any(option.value == ids.PREVIEW_VALUE for option in preview),
        reason=(_element(state, ids.REASON_BLOCK, ids.REASON_ACTION).value or "").strip(),
        channel=channel,
        prefill=prefill,
        when=when,
        run_time=run_time,
    )
