"""The request modal, its typeahead options, and the request card posted where `/immy` was run.

Prefill: Slack cannot type into an external_select for the user, so `/immy install 7zip` puts "7zip" in the
modal's private_metadata and in the software hint; when the caller found exactly one catalog match it passes
`initial_software=(value, text)` and the select starts with that item chosen.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    EmailInputElement,
    ExternalDataMultiSelectElement,
    ExternalDataSelectElement,
    InputBlock,
    PlainTextInputElement,
    RadioButtonsElement,
    TimePickerElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.slack import blocks as kit
from bot.slack.requests import ids
from bot.slack.requests.answers import encode_option
from bot.slack.schedule_text import when_text
from bot.slack.text import mention, one_line, truncate
from bot.workflow.model import DesiredState, OfflineBehavior, RebootPreference, Request
from bot.workflow.schedule import Schedule, When

MAX_OPTIONS = 100
OPTION_VALUE_MAX = 150
PREFILL_MAX = 200
REASON_MAX = 1000
MODAL_TITLE = "Request software"

ComputerRow = tuple[int, str, str | None, bool | None]  # (id, name, tenant, online)


def modal_metadata(*, channel_id: str, prefill: str = "") -> str:
    """The modal's private_metadata: JSON with the invoking channel and the typed search text."""
    return json.dumps({"channel": channel_id, "prefill": truncate(prefill, PREFILL_MAX)}, separators=(",", ":"))


def _radio(action_id: str, choices: Sequence[tuple[str, str]], initial: str) -> RadioButtonsElement:
    options = [kit.option(text, value) for value, text in choices]
    chosen = next(o for o in options if o.value == initial)
    return RadioButtonsElement(action_id=action_id, options=options, initial_option=chosen)


def _software_input(prefill: str, initial_software: tuple[str, str] | None) -> InputBlock:
    element = ExternalDataSelectElement(
        action_id=ids.SOFTWARE_ACTION,
        placeholder=kit.plain("Type to search the catalog"),
        min_query_length=1,
        initial_option=kit.option(initial_software[1], initial_software[0]) if initial_software else None,
    )
    hint = "Global and local catalog items. The option's label names its catalog."
    if prefill and not initial_software:
        hint = f"You searched for “{truncate(one_line(prefill), 100)}”: type it here to pick a match."
    return InputBlock(block_id=ids.SOFTWARE_BLOCK, label=kit.plain("Software"), element=element, hint=kit.plain(hint))


def request_modal(
    *,
    channel_id: str,
    prefill: str = "",
    max_targets: int,
    initial_software: tuple[str, str] | None = None,
) -> dict:
    """The one request modal; every input is present at submit time.

    Only `private_metadata` depends on the channel: the rest is built (and checked by the SDK models,
    ~4 ms) once per (prefill, preselection, limit) and copied, so `/immy` reaches views.open sooner.
    """
    view = json.loads(_modal_json(prefill, initial_software, max_targets))
    view["private_metadata"] = modal_metadata(channel_id=channel_id, prefill=prefill)
    return view


def _when_inputs() -> list[Block]:
    """"When": Now (default) / After business hours / At a time, and the time picker for the last one.

    The picker is its own optional input (Slack has no conditional fields without a round trip); the form
    parser refuses a time without "At a time" and "At a time" without a time, each on its own block.
    """
    return [
        InputBlock(
            block_id=ids.WHEN_BLOCK,
            label=kit.plain("When"),
            element=_radio(ids.WHEN_ACTION, [(w.value, w.label) for w in When], When.NOW.value),
            hint=kit.plain("After business hours: ImmyBot waits until each computer's active hours end."),
        ),
        InputBlock(
            block_id=ids.WHEN_TIME_BLOCK,
            label=kit.plain("Time (for “At a time”)"),
            optional=True,
            element=TimePickerElement(action_id=ids.WHEN_TIME_ACTION, placeholder=kit.plain("Pick a time")),
            hint=kit.plain("In your Slack time zone (UTC if your profile has none). "
                           "A time already past today means tomorrow."),
        ),
    ]


@lru_cache(maxsize=256)
def _modal_json(prefill: str, initial_software: tuple[str, str] | None, max_targets: int) -> str:
    blocks: list[Block] = [
        _software_input(prefill, initial_software),
        InputBlock(
            block_id=ids.ACTION_BLOCK,
            label=kit.plain("Action"),
            element=_radio(ids.ACTION_ACTION, [(s.value, s.label) for s in DesiredState], DesiredState.LATEST.value),
        ),
        kit.context("*Targets:* fill exactly one of computers, a person or an email."),
        InputBlock(
            block_id=ids.COMPUTERS_BLOCK,
            label=kit.plain("Computers"),
            optional=True,
            element=ExternalDataMultiSelectElement(
                action_id=ids.COMPUTERS_ACTION,
                placeholder=kit.plain("Type a computer name"),
                min_query_length=1,
                max_selected_items=max_targets,
            ),
            hint=kit.plain(f"Up to {max_targets}. Or leave empty and give a person or an email instead."),
        ),
        InputBlock(
            block_id=ids.PERSON_BLOCK,
            label=kit.plain("Or a person"),
            optional=True,
            element=UserSelectElement(action_id=ids.PERSON_ACTION, placeholder=kit.plain("Pick a person")),
            hint=kit.plain("Their computers: ImmyBot primary user matches their Slack profile email."),
        ),
        InputBlock(
            block_id=ids.EMAIL_BLOCK,
            label=kit.plain("Or an email"),
            optional=True,
            element=EmailInputElement(action_id=ids.EMAIL_ACTION, placeholder=kit.plain("name@example.com")),
            hint=kit.plain("Computers whose ImmyBot primary user has this email."),
        ),
        InputBlock(
            block_id=ids.REBOOT_BLOCK,
            label=kit.plain("Reboot"),
            element=_radio(
                ids.REBOOT_ACTION,
                [(p.value, kit.REBOOT_LABELS[p]) for p in RebootPreference],
                RebootPreference.SUPPRESS.value,
            ),
        ),
        InputBlock(
            block_id=ids.OFFLINE_BLOCK,
            label=kit.plain("Offline computers"),
            element=_radio(
                ids.OFFLINE_ACTION,
                [(b.value, kit.OFFLINE_LABELS[b]) for b in OfflineBehavior],
                OfflineBehavior.SKIP.value,
            ),
        ),
        InputBlock(
            block_id=ids.PREVIEW_BLOCK,
            label=kit.plain("Preview"),
            optional=True,
            element=CheckboxesElement(
                action_id=ids.PREVIEW_ACTION,
                options=[kit.option("Preview only", ids.PREVIEW_VALUE, "detection only: changes nothing")],
            ),
        ),
        *_when_inputs(),
        InputBlock(
            block_id=ids.REASON_BLOCK,
            label=kit.plain("Reason"),
            element=PlainTextInputElement(
                action_id=ids.REASON_ACTION,
                multiline=True,
                max_length=REASON_MAX,
                placeholder=kit.plain("Why? e.g. the ticket number"),
            ),
        ),
    ]
    view = View(
        type="modal",
        callback_id=ids.REQUEST_MODAL,
        title=kit.plain(MODAL_TITLE),
        submit=kit.plain("Submit"),
        close=kit.plain("Cancel"),
        private_metadata=modal_metadata(channel_id="", prefill=prefill),
        blocks=blocks,
    )
    return json.dumps(view.to_dict())


def _option(text: str, value: str) -> dict:
    """What `kit.option(text, value).to_dict()` gives, built directly: the typeahead answers up to 100 of
    these per keystroke and the SDK model costs ~90 µs each. Limits are enforced by construction:
    the label is one line of at most 75 characters, the value at most 150."""
    return _labelled(truncate(one_line(text), kit.OPTION_TEXT_MAX), value)


def _labelled(label: str, value: str) -> dict:
    """An option whose label is already one line of at most 75 characters."""
    return {"text": {"emoji": True, "text": label, "type": "plain_text"}, "value": value[:OPTION_VALUE_MAX]}


@lru_cache(maxsize=64)
def _suffix(catalog: str) -> str:
    return f" · {catalog}"


def software_options(items: Sequence[Any]) -> list[dict]:
    """Typeahead options (≤ 100): `7-Zip 23.01 · Global`, value `Global:714`.

    `items` are catalog items (anything hashable with `key`, `name` and `catalog`, e.g. the catalog's
    search results) or `(value, name, catalog)` tuples. Each item's option is built once and reused:
    it runs on every keystroke, and building 100 labels cost a third of a keystroke's CPU."""
    return [_software_option(item) for item in items[:MAX_OPTIONS]]


def software_option_json(items: Sequence[Any]) -> list[bytes]:
    """`software_options`, each option already JSON (what the HTTP door sends), built once and reused."""
    return [_software_fragment(item) for item in items[:MAX_OPTIONS]]


# The whole software catalog (22,000 items at the largest seen) stays built. Socket Mode fills the
# dict cache (Bolt encodes the ack), HTTP the encoded one: a process fills only one of them.
@lru_cache(maxsize=32_768)
def _software_option(item: Any) -> dict:
    return _new_software_option(item)


@lru_cache(maxsize=32_768)
def _software_fragment(item: Any) -> bytes:
    return encode_option(_new_software_option(item))


def _new_software_option(item: Any) -> dict:
    if type(item) is tuple:
        value, name, catalog = item
    else:
        value, name, catalog = item.key, item.name, item.catalog
    suffix = _suffix(catalog)
    label = truncate(one_line(name), kit.OPTION_TEXT_MAX - len(suffix)) + suffix
    return {"text": {"emoji": True, "text": label, "type": "plain_text"}, "value": value[:OPTION_VALUE_MAX]}


def computer_option_text(name: str, tenant: str | None, online: bool | None) -> str:
    tail = _computer_tail(tenant, online)
    return truncate(one_line(name), kit.OPTION_TEXT_MAX - len(tail)) + tail


@lru_cache(maxsize=4096)  # a few hundred tenants × three states: every keystroke reuses them
def _computer_tail(tenant: str | None, online: bool | None) -> str:
    state = "online" if online else ("offline" if online is False else "status unknown")
    return f" · {truncate(one_line(tenant or 'no tenant'), 30)} · {state}"


def computer_options(rows: Sequence[ComputerRow]) -> list[dict]:
    """Typeahead options (≤ 100): `PC-ACME-01 · Acme Ltd · online`, value = the ImmyBot computer id.
    Each row's option is built once and reused while the row stays the same (name, tenant, online)."""
    return [_computer_option(row) for row in rows[:MAX_OPTIONS]]


def computer_option_json(rows: Sequence[ComputerRow]) -> list[bytes]:
    """`computer_options`, each option already JSON (what the HTTP door sends), built once and reused."""
    return [_computer_fragment(row) for row in rows[:MAX_OPTIONS]]


@lru_cache(maxsize=65_536)  # the options of the computers people are typing for, not the whole fleet
def _computer_option(row: ComputerRow) -> dict:
    computer_id, name, tenant, online = row
    return _labelled(computer_option_text(name, tenant, online), str(computer_id))


@lru_cache(maxsize=65_536)
def _computer_fragment(row: ComputerRow) -> bytes:
    return encode_option(_computer_option.__wrapped__(row))


def request_card(request: Request, *, schedule: Schedule | None = None) -> tuple[str, list[dict]]:
    """The card in the invoking channel; its thread carries everything that follows.

    `schedule` (pinned at submission) adds when it runs, in the requester's time zone.
    """
    text = f"{kit.fallback_title(request)}, requested by {mention(request.requester)} ({kit.state_word(request)})"
    when = when_text(schedule)
    blocks: list[Block] = [
        kit.section(f"{kit.request_title(request)}\nRequested by {mention(request.requester)}",
                    block_id=ids.REQUEST_CARD_BLOCK),
        kit.section(kit.targets_text(request.targets)),
        kit.section("\n".join(filter(None, (kit.options_text(request), when, kit.reason_text(request))))),
        kit.context(kit.state_line(request), f"`/immy cancel {request.id}`" if request.state.is_open else ""),
    ]
    return kit.message(text, blocks)

