"""Block Kit checks the fake Slack runs on every payload, as strictly as Slack.

First the SDK: each block goes through `Block.parse(...).to_dict()` and views through `View(**view).to_dict()`,
so `SlackObjectFormationError` (text too long, too many options, ...) is caught. Then what the models miss:
50 blocks per message / 100 per view, unique block_id, action_id unique within a block, option text ≤ 75 and
value ≤ 150 wherever options appear, private_metadata ≤ 3000, modal title ≤ 24, section text ≤ 3000.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
PRIVATE_METADATA_MAX = 3000
MODAL_TITLE_MAX = 24
SECTION_TEXT_MAX = 3000
OPTIONS_MAX = 100


class BlockKitError(ValueError):
    """A payload Slack would reject; `str(err)` says why, `error` is Slack's error code."""

    def __init__(self, message: str, error: str = "invalid_blocks") -> None:
        super().__init__(message)
        self.error = error


def _walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _text_of(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else str(obj or "")


def check_options(options: Any, where: str) -> None:
    """Options as a select, a block_suggestion answer or checkboxes carry them."""
    if not isinstance(options, list):
        raise BlockKitError(f"{where}: options must be a list")
    if len(options) > OPTIONS_MAX:
        raise BlockKitError(f"{where}: {len(options)} options, at most {OPTIONS_MAX}")
    for opt in options:
        if not isinstance(opt, dict) or "value" not in opt or "text" not in opt:
            raise BlockKitError(f"{where}: an option needs text and value: {opt!r}")
        if len(_text_of(opt["text"])) > OPTION_TEXT_MAX:
            raise BlockKitError(f"{where}: option text over {OPTION_TEXT_MAX} chars: {_text_of(opt['text'])!r}")
        if len(str(opt["value"])) > OPTION_VALUE_MAX:
            raise BlockKitError(f"{where}: option value over {OPTION_VALUE_MAX} chars")


def check_blocks(blocks: Any, *, limit: int, where: str = "blocks") -> None:
    if not isinstance(blocks, list):
        raise BlockKitError(f"{where} must be a JSON array")
    if len(blocks) > limit:
        raise BlockKitError(f"{where}: {len(blocks)} blocks, no more than {limit} items allowed")
    block_ids: set[str] = set()
    for index, raw in enumerate(blocks):
        if not isinstance(raw, dict):
            raise BlockKitError(f"{where}[{index}] is not an object")
        try:
            parsed = Block.parse(raw)
            if parsed is None or type(parsed) is Block:
                raise BlockKitError(f"{where}[{index}]: unknown block type {raw.get('type')!r}")
            parsed.to_dict()
        except SlackObjectFormationError as err:
            raise BlockKitError(f"{where}[{index}] ({raw.get('type')}): {err}") from None
        block_id = raw.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                raise BlockKitError(f"{where}[{index}]: duplicate block_id {block_id!r}")
            block_ids.add(block_id)
        if raw.get("type") == "section" and len(_text_of(raw.get("text"))) > SECTION_TEXT_MAX:
            raise BlockKitError(f"{where}[{index}]: section text over {SECTION_TEXT_MAX} chars")
        action_ids: set[str] = set()
        for node in _walk(raw):
            action_id = node.get("action_id")
            if isinstance(action_id, str):
                if action_id in action_ids:
                    raise BlockKitError(f"{where}[{index}]: duplicate action_id {action_id!r} in one block")
                action_ids.add(action_id)
            if "options" in node and node.get("type") != "plain_text":
                check_options(node["options"], f"{where}[{index}]")
            for key in ("initial_option",):
                if isinstance(node.get(key), dict):
                    check_options([node[key]], f"{where}[{index}].{key}")


def check_message(text: Any, blocks: Any, *, where: str) -> list[str]:
    """Raise `BlockKitError` for a message Slack rejects; return warnings (e.g. blocks without `text`)."""
    warnings: list[str] = []
    if blocks in (None, "", []):
        if not text:
            raise BlockKitError(f"{where}: neither text nor blocks", error="no_text")
        return warnings
    check_blocks(blocks, limit=MESSAGE_BLOCKS_MAX, where=f"{where}.blocks")
    if not text:
        warnings.append(f"{where}: blocks without a `text` fallback (notifications and screen readers need it)")
    return warnings


def check_view(view: Any, *, where: str) -> None:
    if not isinstance(view, dict):
        raise BlockKitError(f"{where}: view must be a JSON object", error="invalid_arguments")
    kind = view.get("type")
    if kind not in ("modal", "home"):
        raise BlockKitError(f"{where}: view type must be modal or home, got {kind!r}", error="invalid_arguments")
    check_blocks(view.get("blocks", []), limit=VIEW_BLOCKS_MAX, where=f"{where}.blocks")
    if len(view.get("private_metadata") or "") > PRIVATE_METADATA_MAX:
        raise BlockKitError(f"{where}: private_metadata over {PRIVATE_METADATA_MAX} chars")
    if kind == "modal":
        title = _text_of(view.get("title"))
        if not title or len(title) > MODAL_TITLE_MAX:
            raise BlockKitError(f"{where}: modal title must be 1..{MODAL_TITLE_MAX} chars, got {title!r}")
        has_input = any(b.get("type") == "input" for b in view.get("blocks", []) if isinstance(b, dict))
        if has_input and not view.get("submit"):
            raise BlockKitError(f"{where}: a modal with input blocks needs a submit button")
    fields = {k: v for k, v in view.items() if k in View.attributes or k == "blocks"}
    try:
        View(**fields).to_dict()
    except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as err:
        raise BlockKitError(f"{where}: {err}") from None
