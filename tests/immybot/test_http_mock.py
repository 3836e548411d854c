"""ImmyBotHttp's retry and status rules on `httpx.MockTransport`: fast, no server, no token.

The same rules over real HTTP against the fake ImmyBot are in test_faults.py; these pin each rule alone."""

from __future__ import annotations

import httpx
import pytest

from bot.immybot.errors import ImmyNotFound, ImmyRateLimited, ImmyUnavailable
from bot.immybot.transport import ImmyBotHttp
from bot.retry import RetryPolicy

FAST = RetryPolicy(attempts=4, base_seconds=0.0, cap_seconds=0.0, max_retry_after=5.0)


def http(answers: list[httpx.Response], seen: list[httpx.Request]) -> ImmyBotHttp:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return ImmyBotHttp("https://acme.immy.bot", httpx.Auth(), retry=FAST, transport=httpx.MockTransport(handler))


OK = httpx.Response(200, json={"ok": True})


@pytest.mark.parametrize("first", [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"})],
                         ids=["503", "429"])
async def test_a_passing_fault_is_retried(first: httpx.Response) -> None:
    seen: list[httpx.Request] = []
    client = http([first, OK], seen)
    assert await client.request("GET", "/api/v1/computers") == {"ok": True}
    assert len(seen) == 2
    await client.aclose()


async def test_a_long_retry_after_is_not_waited_for() -> None:
    seen: list[httpx.Request] = []
    client = http([httpx.Response(429, headers={"Retry-After": "3600"})], seen)
    with pytest.raises(ImmyRateLimited) as raised:
        await client.request("GET", "/api/v1/computers")
    assert len(seen) == 1 and raised.value.retry_after == 3600.0
    await client.aclose()


async def test_a_post_that_may_have_landed_is_sent_once() -> None:
    seen: list[httpx.Request] = []
    client = http([httpx.Response(500), OK], seen)
    with pytest.raises(ImmyUnavailable):
        await client.request("POST", "/api/v1/run-immy-service", json_body={}, idempotent=False)
    assert len(seen) == 1
    await client.aclose()


async def test_a_lasting_outage_stops_after_the_attempts() -> None:
    seen: list[httpx.Request] = []
    client = http([httpx.Response(502)], seen)
    with pytest.raises(ImmyUnavailable):
        await client.request("GET", "/api/v1/computers")
    assert len(seen) == FAST.attempts
    await client.aclose()


async def test_not_found_is_not_retried() -> None:
    seen: list[httpx.Request] = []
    client = http([httpx.Response(404)], seen)
    with pytest.raises(ImmyNotFound):
        await client.request("GET", "/api/v1/computers/9")
    assert len(seen) == 1
    await client.aclose()
