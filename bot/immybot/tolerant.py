"""Reading ImmyBot's answers as its OpenAPI document allows (SPEC §5), and failing clearly otherwise.

`parse(adapter, data, route)` validates one answer; any failure (pydantic's, or a body of the wrong
shape) becomes ONE `ImmyUnexpectedContent` naming the route, never a raw `ValidationError`.
`Rows(row_type)` reads a list row by row: a row that cannot be used (a software item or computer
whose id is null) is skipped, logged with its position and reason (never its values), and counted
in `immybot_slack_immybot_rows_skipped_total{route}`; it never fails the list it came in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from bot import metrics
from bot.immybot.errors import ImmyUnexpectedContent
from bot.immybot.json_stream import array_items

log = logging.getLogger(__name__)

T = TypeVar("T")


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where or 'body'}: {first.get('msg')}"


class Rows(Generic[T]):
    """A list of `row_type`, validated whole (the fast path) or, when that fails, row by row."""

    def __init__(self, row_type: Any, *, usable: Any = None) -> None:
        self._list: TypeAdapter[list[T]] = TypeAdapter(list[row_type])
        self._row: TypeAdapter[T] = TypeAdapter(row_type)
        self._usable = usable  # an extra test of a validated row (e.g. `id is not None`)
        self._keep = read_keys_only(_read_keys(row_type))
        self.json_loads = slim_loads(self._keep)

    async def from_stream(self, chunks: AsyncIterator[bytes], route: str) -> Any:
        """The answer read as it arrives (`ImmyBotHttp.request(stream=...)`): each row, once parsed, keeps
        only the keys it is read from; `parse` then reads the rows as from any other answer."""
        return await array_items(chunks, self._keep, route)

    def parse(self, data: Any, route: str) -> list[T]:
        if data is None:
            return []
        if not isinstance(data, list):
            raise ImmyUnexpectedContent(route, f"a JSON {type(data).__name__} where a list was expected")
        try:
            rows = self._list.validate_python(data)
        except ValidationError:
            rows = None
        if rows is not None and (self._usable is None or all(map(self._usable, rows))):
            return rows
        kept: list[T] = []
        reasons: list[str] = []
        for position, raw in enumerate(data):
            try:
                row = self._row.validate_python(raw)
            except ValidationError as error:
                reasons.append(f"row {position}: {_first_error(error)}")
                continue
            if self._usable is not None and not self._usable(row):
                reasons.append(f"row {position}: no id")
                continue
            kept.append(row)
        skipped(route, len(reasons), reasons[0])
        return kept


def _read_keys(row_type: Any) -> frozenset[str]:
    """Every JSON key a row's fields are read from: field names and their validation aliases."""
    fields = getattr(row_type, "model_fields", None) or getattr(row_type, "__pydantic_fields__", {})
    keys: set[str] = set(fields)
    for info in fields.values():
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                keys.add(alias)
            elif alias is not None:  # AliasChoices
                keys.update(choice for choice in alias.choices if isinstance(choice, str))
    return frozenset(keys)


def read_keys_only(keys: frozenset[str]) -> Callable[[Any], Any]:
    """What is kept of a parsed JSON value: of a row (an object with an `id`) only `keys`, anything else as is.

    ImmyBot sends every property of a row, nulls included: 20,000 software items are 30 MB of JSON and
    became 56 MB of dicts through a plain `json.loads`, the first load's peak. What is kept reads exactly
    as before (the models ignore the rest)."""

    def keep(value: Any) -> Any:
        return {key: value[key] for key in keys if key in value} if isinstance(value, dict) and "id" in value \
            else value

    return keep


def slim_loads(keep: Callable[[Any], Any]) -> Callable[[bytes], Any]:
    """`json.loads` passing each object through `keep` as soon as it is parsed (its full dict is dropped)."""
    return lambda content: json.loads(content, object_hook=keep)


def skipped(route: str, count: int, first_reason: str) -> None:
    """Log and count rows of `route` that could not be used."""
    if count:
        log.warning("immybot rows skipped", extra={"route": route, "skipped": count, "first": first_reason})
        metrics.IMMYBOT_ROWS_SKIPPED.labels(metrics.route_template(route.split(" ", 1)[-1])).inc(count)


def parse(adapter: TypeAdapter[Any] | Rows[Any], data: Any, route: str) -> Any:
    """`data` read with `adapter`; anything it cannot read is an `ImmyUnexpectedContent` naming `route`."""
    if isinstance(adapter, Rows):
        return adapter.parse(data, route)
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        raise ImmyUnexpectedContent(route, _first_error(error)) from None
    except (TypeError, AttributeError, KeyError) as error:  # a validator surprised by a shape: still one error
        raise ImmyUnexpectedContent(route, f"unreadable body ({type(error).__name__})") from None


def with_id(data: Any, resource_id: int) -> Any:
    """A by-id answer without its (not required) `id`, or with a null one, is about the id we asked for."""
    if isinstance(data, dict) and data.get("id") is None:
        return {**data, "id": resource_id}
    return data
