"""A JSON array answer read item by item as its bytes arrive (ijson's C parser), so a list of 30 MB never
becomes 30 MB of text plus dicts of every property ImmyBot sends.

`array_items(chunks, keep, route)` gives the array's items, each passed through `keep` as soon as it is
parsed; `null` or an empty body gives None; any other top-level JSON is returned whole, for the caller's
"a list was expected"; a body that is not JSON is one `ImmyUnexpectedContent` naming the route. The bytes
are kept while they stream: what ijson's C parser refuses and `json` reads (an integer past 64 bits,
which the OpenAPI document allows) is read again by `json`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import ijson

from bot.immybot.errors import ImmyUnexpectedContent


class _Chunks:
    """The async file ijson reads: the body's chunks as they come, each also kept."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks.__aiter__()
        self._held: list[bytes] = []
        self.seen = bytearray()

    async def first_byte(self) -> bytes:
        """The first byte that is not whitespace, b"" for an empty body (nothing is consumed)."""
        while True:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                return b""
            self._held.append(chunk)
            if chunk.strip():
                return chunk.lstrip()[:1]

    async def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks for nothing first, to learn whether it gets bytes or text
            return b""
        if self._held:
            chunk = self._held.pop(0)
        else:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                return b""
        self.seen += chunk
        return chunk

    async def whole(self) -> bytearray:
        while await self.read():
            pass
        return self.seen


async def array_items(chunks: AsyncIterator[bytes], keep: Callable[[Any], Any], route: str) -> Any:
    body = _Chunks(chunks)
    first = await body.first_byte()
    try:
        if first == b"[":
            try:
                return [keep(item) async for item in ijson.items_async(body, "item", use_float=True)]
            except ijson.JSONError:
                pass  # perhaps JSON all the same (ijson's C parser stops at 64-bit integers): `json` decides
        text = await body.whole()
        data = json.loads(text) if text.strip() else None
    except ValueError:
        raise ImmyUnexpectedContent(route, "a body that is not valid JSON") from None
    return [keep(item) for item in data] if isinstance(data, list) else data
