"""A JSON array read as its bytes arrive reads exactly as `json.loads` does, in any chunking, and fails
with one clear error on a body that is not JSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.immybot.errors import ImmyUnexpectedContent
from bot.immybot.json_stream import array_items


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _same(item: Any) -> Any:
    return item


BODIES = [
    b'[{"id": 1, "name": "Chrome", "notes": null, "version": 1.5}, {"id": 2, "name": "7-Zip"}]',
    b"  []  ",
    b"null",
    b"",
    b'{"data": []}',  # not a list: returned whole, for the caller's "a list was expected"
    b'[{"": 9223372036854775808}]',  # past 64 bits: ijson's C parser stops, `json` reads it
    b'[1, "two", null, [3]]',
]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("size", [1, 7, 1 << 16])
async def test_reads_as_json_loads_does_in_any_chunking(body: bytes, size: int) -> None:
    expected = json.loads(body) if body.strip() else None
    assert await array_items(_chunks(body, size), _same, "GET /x") == expected


async def test_each_item_goes_through_keep_as_it_is_parsed() -> None:
    body = json.dumps([{"id": n, "name": f"s{n}", "big": "x" * 100} for n in range(3)]).encode()
    kept = await array_items(_chunks(body, 10), lambda row: {"id": row["id"]}, "GET /x")
    assert kept == [{"id": 0}, {"id": 1}, {"id": 2}]


@pytest.mark.parametrize("body", [b"[{]", b"<html>", b'[{"id": 1}', b"nul"])
async def test_a_body_that_is_not_json_is_one_clear_error(body: bytes) -> None:
    with pytest.raises(ImmyUnexpectedContent, match=r"GET /x.*not valid JSON"):
        await array_items(_chunks(body, 3), _same, "GET /x")
