"""Entra tokens through msal against the fake Entra over HTTPS; ImmyBot's verdict on them."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from typing import Any

import httpx
import pytest

from bot.config import load_settings
from bot.immybot.auth import EARLY_REFRESH_SECONDS, TokenProvider, _Fresh, fresh_until
from bot.immybot.client import ImmyBotClient
from bot.immybot.errors import ENTERPRISE_APP_FIX, ImmyAuthError, ImmyForbidden, ImmyUnavailable
from bot.immybot.transport import RetryPolicy
from bot.workflow.model import Catalog
from immybot_slack_sandbox.immy_faults import Fault
from immybot_slack_sandbox.immy_sandbox import ImmySandbox


async def test_token_is_cached_and_reused(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    for _ in range(3):
        await immy_client.list_software(Catalog.LOCAL)
    assert immy.entra.tokens_issued == 1
    assert len(immy.immybot.requests_to("/api/v1/software/local")) == 3
    assert {r.audience for r in immy.immybot.requests} == {immy.base_url}
    assert immy.entra.token_requests[0].scopes == (f"{immy.base_url}/.default",)


async def test_ten_concurrent_first_calls_make_one_token_request(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    await asyncio.gather(*(immy_client.list_software(Catalog.GLOBAL) for _ in range(10)))
    assert immy.entra.tokens_issued == 1
    assert len(immy.entra.discovery_requests) == 1


async def test_a_401_mints_a_fresh_token_once_and_retries(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    await immy_client.tenants()
    immy.immybot.faults.next("/api/v1/tenants", Fault.unauthorized())
    tenants = await immy_client.tenants()
    assert tenants and tenants[0].name == "Contoso Ltd"
    assert immy.entra.tokens_issued == 2
    assert len(immy.immybot.requests_to("/api/v1/tenants")) == 3


async def test_wrong_audience_is_forbidden_with_the_enterprise_app_fix(
    immy: ImmySandbox, immy_client: ImmyBotClient
) -> None:
    immy.immybot.audience = "https://acme.immy.bot"  # the instance expects tokens for another URL
    with pytest.raises(ImmyForbidden) as caught:
        await immy_client.tenants()
    assert caught.value.fix == ENTERPRISE_APP_FIX
    assert "Object ID" in caught.value.fix and "Enterprise Application" in caught.value.fix
    assert immy.entra.tokens_issued == 2  # re-minted once, then gave up


async def test_an_app_not_registered_as_user_is_forbidden(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.authorized_clients = set()
    with pytest.raises(ImmyForbidden, match="401"):
        await immy_client.list_software(Catalog.GLOBAL)


@pytest.mark.parametrize(
    ("variable", "value", "code", "fix_words"),
    [
        ("IMMYBOT_CLIENT_SECRET", "a1b2c3d4-secret-id-not-value", "7000215", "VALUE"),
        ("IMMYBOT_CLIENT_ID", "00000000-0000-0000-0000-000000000001", "700016", "Application (client) ID"),
        ("IMMYBOT_TENANT_ID", "00000000-0000-0000-0000-0000000000ff", "90002", "Directory (tenant) ID"),
        ("IMMYBOT_BASE_URL", "https://wrong.immy.bot", "500011", "instance URL"),
    ],
)
async def test_entra_errors_carry_the_aadsts_code_and_fix(
    immy: ImmySandbox, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, code: str, fix_words: str
) -> None:
    monkeypatch.setenv(variable, value)
    async with ImmyBotClient(load_settings(), retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(ImmyAuthError) as caught:
            await client.token()
    error = caught.value
    assert error.code == code
    assert f"AADSTS{code}" in str(error)
    assert error.fix and fix_words in error.fix
    assert immy.entra.client_secret not in str(error) and "a1b2c3d4-secret" not in str(error)


async def test_a_domain_tenant_resolves_like_the_guid(immy: ImmySandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMMYBOT_TENANT_ID", "contoso.onmicrosoft.com")
    async with ImmyBotClient(load_settings()) as client:
        assert (await client.tenants())[0].id == 1


async def test_fake_entra_rejects_a_malformed_scope(immy: ImmySandbox) -> None:
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(immy.tls.ca_path))) as http:
        response = await http.post(
            f"{immy.authority_host}/{immy.entra.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": immy.entra.client_id,
                "client_secret": immy.entra.client_secret,
                "scope": "User.Read",
            },
        )
    body = response.json()
    assert response.status_code == 400 and body["error_codes"] == [1002012]
    assert body["error_description"].startswith("AADSTS1002012:")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_authority_names_the_url(immy: ImmySandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    host = f"https://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("IMMYBOT_AUTHORITY_HOST", host)
    async with ImmyBotClient(load_settings(), retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(ImmyUnavailable) as caught:
            await client.token()
    assert host in str(caught.value)
    assert caught.value.fix and "IMMYBOT_AUTHORITY_HOST" in caught.value.fix


# ---- the fast path: a fresh token is handed out with no lock, no thread hop, no msal call ----------


def _count_msal_calls(provider: TokenProvider, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    acquire = provider._acquire

    def counted(app: Any) -> dict[str, Any]:
        calls.append(1)
        return acquire(app)

    monkeypatch.setattr(provider, "_acquire", counted)
    return calls


async def test_a_fresh_token_is_served_without_msal_or_a_thread(
    immy: ImmySandbox, immy_client: ImmyBotClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await immy_client.token()
    calls = _count_msal_calls(immy_client.tokens, monkeypatch)
    hops: list[object] = []
    real_to_thread = asyncio.to_thread

    async def to_thread(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await real_to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", to_thread)
    await asyncio.gather(*(immy_client.tenants() for _ in range(20)))
    assert await immy_client.token() == first
    assert calls == [] and hops == []
    assert immy.entra.tokens_issued == 1


async def test_a_token_near_expiry_is_asked_of_msal_again(
    immy: ImmySandbox, immy_client: ImmyBotClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await immy_client.token()
    calls = _count_msal_calls(immy_client.tokens, monkeypatch)
    immy_client.tokens._fresh = _Fresh(first, time.monotonic() - 1)  # msal's 5-minute margin reached
    await asyncio.gather(*(immy_client.tenants() for _ in range(5)))
    assert len(calls) == 1  # one shared trip to msal, which answered from its cache
    assert immy.entra.tokens_issued == 1
    await immy_client.tenants()
    assert len(calls) == 1  # fresh again


async def test_a_401_bypasses_the_fast_path(
    immy: ImmySandbox, immy_client: ImmyBotClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = await immy_client.token()
    calls = _count_msal_calls(immy_client.tokens, monkeypatch)
    immy.immybot.faults.next("/api/v1/tenants", Fault.unauthorized())
    await immy_client.tenants()
    assert len(calls) == 2 and immy.entra.tokens_issued == 2  # cached one refused, so a fresh one minted
    fresh = await immy_client.token()
    assert fresh != stale and len(calls) == 2  # the new token is now the fast path's


def test_fresh_until_uses_msal_margin_and_refresh_on() -> None:
    assert fresh_until({"expires_in": 3599}, now=100.0, wall=5000.0) == 100.0 + 3599 - EARLY_REFRESH_SECONDS
    assert fresh_until({"expires_in": 3599, "refresh_on": 5600}, now=100.0, wall=5000.0) == 700.0
    assert fresh_until({"expires_in": 120}, now=100.0, wall=5000.0) < 100.0  # msal would not reuse it
    assert fresh_until({"access_token": "x"}, now=100.0, wall=5000.0) == float("-inf")
