"""Entra's token endpoint answering errors in every shape it may (issue 9): generated statuses and bodies
(Entra's error JSON with fields present, absent, null or odd; other JSON; HTML; nothing) go through msal
and our `TokenProvider` against the fake Entra over HTTPS. Each one becomes an `ImmyAuthError`
(Entra refused: configuration) or an `ImmyUnavailable` naming the authority (5xx, 429, unreadable:
an outage, retried) — never msal's `MsalServiceError`, an AttributeError or a KeyError. No secret in
any message."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import load_settings
from bot.immybot.auth import TokenProvider
from bot.immybot.errors import ImmyAuthError, ImmyUnavailable
from immybot_slack_sandbox.entra import FakeEntra
from immybot_slack_sandbox.immy_sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_TENANT_ID
from immybot_slack_sandbox.server import make_tls
from tests.conftest import VALID_ENV

_TEXT = st.text(max_size=40)
_ERROR_JSON = st.fixed_dictionaries(
    {},
    optional={
        "error": st.one_of(st.sampled_from(["invalid_client", "invalid_request", "unauthorized_client",
                                            "temporarily_unavailable", "server_error", "invalid_scope"]),
                           _TEXT, st.none(), st.integers()),
        "error_description": st.one_of(_TEXT.map(lambda t: f"AADSTS7000215: {t}"), _TEXT, st.none()),
        "error_codes": st.one_of(st.lists(st.integers(0, 10**7), max_size=2), st.none(), _TEXT),
        "trace_id": st.one_of(_TEXT, st.none()),
        "correlation_id": st.one_of(_TEXT, st.none()),
        "timestamp": st.one_of(_TEXT, st.none()),
    },
).map(json.dumps)  # fmt: skip
_OTHER_JSON = st.recursive(st.none() | st.booleans() | st.integers() | _TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
                           max_leaves=6).map(json.dumps)  # fmt: skip
_BODIES = st.one_of(
    _ERROR_JSON.map(lambda b: (b, "application/json")),
    _OTHER_JSON.map(lambda b: (b, "application/json")),
    st.sampled_from([("<html><body>Service Unavailable</body></html>", "text/html"), ("", "text/plain")]),
)
_STATUSES = st.sampled_from([200, 400, 401, 403, 404, 429, 500, 502, 503, 504])


@pytest.fixture(scope="module")
def entra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeEntra]:
    """The fake Entra over HTTPS, served from its own event loop thread (hypothesis drives sync tests)."""
    fake = FakeEntra(tenant_id=SANDBOX_TENANT_ID, client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET)
    tls = make_tls(Path(tmp_path_factory.mktemp("entra")) / "tls")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = fake.running(tls)
    asyncio.run_coroutine_threadsafe(running.__aenter__(), loop).result(10)
    fake.register_resource("https://acme.immy.bot")
    fake.ca_path = str(tls.ca_path)  # type: ignore[attr-defined]
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(running.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _provider(entra: FakeEntra) -> TokenProvider:
    env = {k.lower(): v for k, v in VALID_ENV.items()}
    env.update(immybot_tenant_id=SANDBOX_TENANT_ID, immybot_client_id=SANDBOX_CLIENT_ID,
               immybot_client_secret=SANDBOX_CLIENT_SECRET, immybot_authority_host=entra.url)  # fmt: skip
    return TokenProvider(load_settings(**env), timeout=5)


def _one(entra: FakeEntra, status: int, body: str, content_type: str) -> None:
    entra.outages.clear()
    entra.fail_token_requests(1, status=status, body=body, content_type=content_type)
    provider = _provider(entra)
    try:
        token = asyncio.run(provider.token())
    except ImmyUnavailable as error:
        assert error.url == provider._settings.authority and error.url in str(error)
        assert status >= 500 or status == 429 or "token response" in str(error) or "unavailable" in str(error)
    except ImmyAuthError as error:
        assert status < 500 and status != 429, (status, body, str(error))
        assert SANDBOX_CLIENT_SECRET not in str(error)
    else:  # a 200 whose body has an access_token is a token; nothing else may get here
        assert status == 200 and isinstance(token, str) and token
    finally:
        provider.close()


@given(status=_STATUSES, body=_BODIES)
def test_every_token_endpoint_error_shape_is_one_clear_error(
    entra: FakeEntra, monkeypatch: pytest.MonkeyPatch, status: int, body: tuple[str, str]
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra.ca_path)  # type: ignore[attr-defined]
    _one(entra, status, *body)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_outage_statuses_are_unavailable_and_the_next_try_asks_entra_again(
    entra: FakeEntra, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    """msal would answer a retry from its 60-second memory of the 5xx; ours asks Entra again and gets a token."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra.ca_path)  # type: ignore[attr-defined]
    entra.outages.clear()
    entra.fail_token_requests(1, status=status)
    provider = _provider(entra)

    async def twice() -> str:
        with pytest.raises(ImmyUnavailable):
            await provider.token()
        return await provider.token()

    try:
        assert asyncio.run(twice())
    finally:
        provider.close()
