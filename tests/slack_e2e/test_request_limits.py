"""The door under abuse, over raw HTTP: oversized bodies (413 before they are read), malformed signature
and timestamp headers (401, never 500), and a bound on concurrent connections (503 past it)."""

from __future__ import annotations

import asyncio
import contextlib
import resource
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.web import MAX_BODY_BYTES, MAX_CONNECTIONS
from tests.slack_e2e.conftest import SECRET, World
from tests.slack_e2e.rawhttp import connect, post_raw, read_answer, request_head, sign

pytestmark = pytest.mark.asyncio(loop_scope="module")

FORM = (b"content-type", b"application/x-www-form-urlencoded")


async def _nothing_changed(world: World, calls: int, rows: int) -> None:
    await asyncio.sleep(0.1)
    assert len(world.fake.calls()) == calls
    assert len(await world.audit()) == rows


def _command_body(world: World) -> bytes:
    return urlencode({"command": "/immy", "text": "status", "user_id": world.ws.requester,
                      "channel_id": world.ws.ops_channel, "trigger_id": world.fake.mint_trigger(world.ws.requester),
                      "response_url": world.fake.mint_response_url("command", world.ws.requester,
                                                                   world.ws.ops_channel)}).encode()


async def test_declared_content_length_over_1_mib_gets_413_before_the_body_is_sent(world: World) -> None:
    reader, writer = await connect(world.bot.url)
    try:
        ts, signature = sign(SECRET, b"")
        writer.write(request_head("/slack/events", [FORM, (b"x-slack-request-timestamp", ts.encode()),
                                                    (b"x-slack-signature", signature.encode()),
                                                    (b"content-length", str(5 * 1024**3).encode())]))
        writer.write(b"command=%2Fimmy")  # a few bytes of the announced 5 GiB, then nothing
        await writer.drain()
        answer = await read_answer(reader)  # today's main waits for all 5 GiB: this times out
        assert answer.status == 413
        assert answer.headers.get("connection") == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""  # and the server hangs up
    finally:
        writer.close()


async def test_chunked_body_over_1_mib_gets_413_while_it_streams(world: World) -> None:
    calls, rows = len(world.fake.calls()), len(await world.audit())
    reader, writer = await connect(world.bot.url)
    ts, signature = sign(SECRET, b"")
    writer.write(request_head("/slack/events", [FORM, (b"x-slack-request-timestamp", ts.encode()),
                                                (b"x-slack-signature", signature.encode()),
                                                (b"transfer-encoding", b"chunked")]))
    chunk = b"a" * 65536
    sent = 0

    async def stream_forever() -> None:
        nonlocal sent
        # No terminating chunk ever: only a server that counts while it reads can answer.
        with contextlib.suppress(ConnectionError):
            while sent < 64 * MAX_BODY_BYTES:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                sent += len(chunk)

    streaming = asyncio.create_task(stream_forever())
    try:
        answer = await read_answer(reader)
        assert answer.status == 413
        assert answer.headers.get("connection") == "close"
        await asyncio.wait_for(streaming, 10)  # the server hung up: writing stops with an error
        assert sent < 64 * MAX_BODY_BYTES
    finally:
        streaming.cancel()
        writer.close()
    await _nothing_changed(world, calls, rows)


async def test_a_chunked_body_under_the_limit_is_served(world: World) -> None:
    body = _command_body(world)
    ts, signature = sign(SECRET, body)

    async def pieces() -> Any:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(world.bot.url + "/slack/events", content=pieces(), headers={
            "content-type": FORM[1].decode(), "x-slack-request-timestamp": ts, "x-slack-signature": signature})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 200


async def test_a_body_of_exactly_1_mib_is_read_and_judged_on_its_signature(world: World) -> None:
    body = b"x" * MAX_BODY_BYTES
    answer = await post_raw(world.bot.url + "/slack/events",
                            [FORM, (b"x-slack-request-timestamp", b"1"), (b"x-slack-signature", b"v0=00")], body)
    assert answer.status == 401


GOOD_SIGNATURE = "v0=" + "0" * 64
MALFORMED = [
    ("²", GOOD_SIGNATURE),  # a Unicode digit: str.isdigit() says yes, int() says no
    ("¹⁷⁰⁰⁰⁰⁰⁰⁰⁰", GOOD_SIGNATURE),
    ("9" * 5000, GOOD_SIGNATURE),  # past int()'s 4300-digit limit
    ("-1", GOOD_SIGNATURE),
    (" 1700000000", GOOD_SIGNATURE),
    ("NOW", "v0=" + "²" * 64),
    ("NOW", "v0=" + "é" * 64),  # compare_digest refuses non-ASCII text
    ("NOW", "v0=" + "0" * 10_000),
    ("NOW", "v1=" + "0" * 64),
    ("", ""),
]


@pytest.mark.parametrize(("timestamp", "signature"), MALFORMED)
async def test_malformed_signature_headers_get_401_never_500(world: World, timestamp: str, signature: str) -> None:
    calls, rows = len(world.fake.calls()), len(await world.audit())
    body = _command_body(world)
    ts = sign(SECRET, body)[0] if timestamp == "NOW" else timestamp
    answer = await post_raw(world.bot.url + "/slack/events",
                            [FORM, (b"x-slack-request-timestamp", ts.encode()),
                             (b"x-slack-signature", signature.encode())], body)
    assert answer.status == 401, answer
    await _nothing_changed(world, calls, rows)


async def test_raw_non_utf8_header_bytes_get_401(world: World) -> None:
    body = _command_body(world)
    ts, signature = sign(SECRET, body)
    answer = await post_raw(world.bot.url + "/slack/events",
                            [FORM, (b"x-slack-request-timestamp", ts.encode()),
                             (b"x-slack-signature", signature[:-2].encode() + b"\xff\xfe")], body)
    assert answer.status == 401


async def test_connections_past_the_bound_get_503(world: World) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * MAX_CONNECTIONS + 256  # both ends live in this process
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} open files, the limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    idle = [await connect(world.bot.url) for _ in range(MAX_CONNECTIONS)]
    try:
        await asyncio.sleep(0.2)  # let the server accept them all
        body = _command_body(world)
        ts, signature = sign(SECRET, body)
        answer = await post_raw(world.bot.url + "/slack/events",
                                [FORM, (b"x-slack-request-timestamp", ts.encode()),
                                 (b"x-slack-signature", signature.encode())], body)
        assert answer.status == 503
    finally:
        for _, writer in idle:
            writer.close()
    await asyncio.sleep(0.2)
    body = _command_body(world)
    ts, signature = sign(SECRET, body)
    answer = await post_raw(world.bot.url + "/slack/events", [FORM, (b"x-slack-request-timestamp", ts.encode()),
                                                              (b"x-slack-signature", signature.encode())], body)
    assert answer.status == 200


async def test_an_endless_header_is_cut_off_not_buffered(world: World) -> None:
    """httptools buffers an unfinished header line without limit: the server stops reading at 64 KiB."""
    reader, writer = await connect(world.bot.url)
    sent = 0
    try:
        writer.write(b"POST /slack/events HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slack-signature: v0=")
        with contextlib.suppress(ConnectionError):
            while sent < 16 * MAX_BODY_BYTES and not reader.at_eof():
                writer.write(b"0" * 65536)
                await asyncio.wait_for(writer.drain(), 10)
                sent += 65536
        head = await asyncio.wait_for(reader.read(100), 10) if not reader.at_eof() else b""
    except ConnectionError:
        head = b""
    finally:
        writer.close()
    assert sent < 16 * MAX_BODY_BYTES  # the server hung up long before
    assert not head.startswith(b"HTTP/1.1 5")
