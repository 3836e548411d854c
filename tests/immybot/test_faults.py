"""Retries, backoff and error mapping against injected faults (real HTTP, real sockets)."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from bot.config import load_settings
from bot.immybot.client import ImmyBotClient
from bot.immybot.errors import ImmyRateLimited, ImmyUnavailable, ImmyUnexpectedContent
from bot.immybot.transport import RetryPolicy, parse_retry_after
from bot.workflow.model import Catalog, DesiredState, RunOptions, Software
from immybot_slack_sandbox.immy_faults import Fault
from immybot_slack_sandbox.immy_sandbox import ImmySandbox

CHROME = Software(id=714, name="Google Chrome", catalog=Catalog.GLOBAL)
GLOBAL = "/api/v1/software/global"


async def test_429_waits_for_retry_after(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    await immy_client.token()
    immy.immybot.faults.next(GLOBAL, Fault.rate_limited(retry_after="1"))
    started = time.monotonic()
    assert await immy_client.list_software(Catalog.GLOBAL)
    assert time.monotonic() - started >= 0.95
    assert len(immy.immybot.requests_to(GLOBAL)) == 2


async def test_persistent_429_is_rate_limited(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.faults.always(GLOBAL, Fault.rate_limited(retry_after=None))
    with pytest.raises(ImmyRateLimited, match="429"):
        await immy_client.list_software(Catalog.GLOBAL)
    assert len(immy.immybot.requests_to(GLOBAL)) == 4


async def test_a_retry_after_beyond_the_cap_is_not_waited_for(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.faults.always(GLOBAL, Fault.rate_limited(retry_after="3600"))
    with pytest.raises(ImmyRateLimited) as caught:
        await immy_client.list_software(Catalog.GLOBAL)
    assert caught.value.retry_after == 3600 and len(immy.immybot.requests_to(GLOBAL)) == 1


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_500_is_retried_then_succeeds(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.faults.next(GLOBAL, Fault.server_error(), times=2)
    assert await immy_client.list_software(Catalog.GLOBAL)
    assert len(immy.immybot.requests_to(GLOBAL)) == 3


async def test_persistent_500_is_unavailable_naming_the_url(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.faults.always("/api/v1/tenants", Fault.server_error(503))
    with pytest.raises(ImmyUnavailable) as caught:
        await immy_client.tenants()
    assert f"{immy.base_url}/api/v1/tenants" in str(caught.value) and "503" in str(caught.value)
    assert len(immy.immybot.requests_to("/api/v1/tenants")) == 4


async def test_the_nth_call_fails_and_paging_recovers(immy: ImmySandbox, immy_settings: Any, fast_retry: Any) -> None:
    immy.immybot.faults.on_call("/api/v1/computers/dx", 2, Fault.server_error())
    async with ImmyBotClient(immy_settings, retry=fast_retry, dx_page_size=25) as client:
        rows = await client.list_computers()
    assert [r.id for r in rows] == [c["id"] for c in immy.immybot.data.computers]  # in order, each once
    skips = [r.query["skip"] for r in immy.immybot.requests_to("/api/v1/computers/dx")]
    assert skips[:1] == ["0"] and len(skips) == len(set(skips)) + 1  # the failed page, and only it, asked twice


async def test_html_200_is_unexpected_content_naming_the_route(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.faults.next("/api/v1/computers/dx", Fault.html())
    with pytest.raises(ImmyUnexpectedContent, match=r"unexpected content from GET /api/v1/computers/dx: an HTML page"):
        await immy_client.list_computers()


async def test_an_unknown_route_answers_the_web_app(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    with pytest.raises(ImmyUnexpectedContent, match="GET /api/v1/maintenance-sessions/nope"):
        await immy_client._http.request("GET", "/api/v1/maintenance-sessions/nope")


async def test_run_is_not_resent_after_a_500(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.faults.next("/api/v1/run-immy-service", Fault.server_error())
    with pytest.raises(ImmyUnavailable):
        await immy_client.run_immy_service(
            computer_ids=[1], software=CHROME, action=DesiredState.LATEST, options=RunOptions(), session_group_id="g"
        )
    assert len(immy.immybot.requests_to("/api/v1/run-immy-service")) == 1


async def test_run_is_resent_after_a_429(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.faults.next("/api/v1/run-immy-service", Fault.rate_limited(retry_after="0"))
    result = await immy_client.run_immy_service(
        computer_ids=[1], software=CHROME, action=DesiredState.LATEST, options=RunOptions(), session_group_id="g"
    )
    assert len(result.started) == 1 and len(immy.immybot.requests_to("/api/v1/run-immy-service")) == 2


async def test_connection_refused_names_the_url(immy: ImmySandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("IMMYBOT_BASE_URL", dead)
    immy.entra.register_resource(dead)
    retry = RetryPolicy(attempts=2, base_seconds=0.001, cap_seconds=0.001)
    async with ImmyBotClient(load_settings(), retry=retry) as client:
        with pytest.raises(ImmyUnavailable) as caught:
            await client.tenants()
    assert f"{dead}/api/v1/tenants" in str(caught.value) and "unreachable" in str(caught.value)
    assert caught.value.fix and "IMMYBOT_BASE_URL" in caught.value.fix


async def test_slow_answers_are_still_answers(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.faults.latency(0.2, "/api/v1/tenants")
    started = time.monotonic()
    assert await immy_client.tenants()
    assert time.monotonic() - started >= 0.2
