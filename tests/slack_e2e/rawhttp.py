"""HTTP/1.1 spoken by hand over a TCP socket: headers and bodies no well-behaved client would send."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

ANSWER_TIMEOUT_S = 10.0


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def sign(secret: str, body: bytes, timestamp: str | None = None) -> tuple[str, str]:
    ts = timestamp or str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return ts, f"v0={digest}"


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    return await asyncio.open_connection(parts.hostname, parts.port)


def request_head(path: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    lines = [b"POST " + path.encode() + b" HTTP/1.1", b"host: 127.0.0.1"]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def read_answer(reader: asyncio.StreamReader) -> RawAnswer:
    """One response (Content-Length framed, as the servers under test send it)."""

    async def read() -> RawAnswer:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        return RawAnswer(int(status_line.split()[1]), headers, body)

    return await asyncio.wait_for(read(), ANSWER_TIMEOUT_S)


async def post_raw(url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> RawAnswer:
    """POST `body` to `url` with exactly these header bytes (plus Host and Content-Length)."""
    reader, writer = await connect(url)
    try:
        path = urlsplit(url).path or "/"
        writer.write(request_head(path, [*headers, (b"content-length", str(len(body)).encode())]) + body)
        await writer.drain()
        return await read_answer(reader)
    finally:
        writer.close()
