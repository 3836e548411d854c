"""Entra client-credentials tokens through msal, and the httpx `Auth` that puts them on requests.

msal is blocking (it talks through `requests`), so every msal call runs in a worker thread. One
asyncio lock serialises them: ten concurrent first callers make ONE token request, and later
callers are served from msal's own token cache (`acquire_token_for_client` looks in the cache
first since msal 1.23 and only asks Entra on a miss or when the cached token is near expiry).
`acquire_token_for_client` refuses `force_refresh`; after an ImmyBot 401 we drop the app-only
tokens with msal's `remove_tokens_for_client()` and ask again, once.

Fast path: the last token msal handed out is kept with the monotonic time until which msal itself
would hand it out again (its `expires_in` less msal's 5-minute early-refresh margin, or its
`refresh_on` when sooner). While it is fresh, `token()` returns it with no lock and no thread hop;
afterwards the next caller goes to msal (its cache, then Entra) under the lock. The 401 path
(`stale=`) never uses the fast path.

A private CA for the authority is trusted through `REQUESTS_CA_BUNDLE` (read by `requests` when
msal sends each request). No secret or token ever reaches a message or a log line.

An authority outage is an outage (SPEC §5): a 5xx or 429 (msal raises `MsalServiceError`, whose only
attributes are its message "HTTP Error: 503" and the private `_error`), a timeout or refused
connection (`requests` errors are `OSError`s), a body that is not JSON, all become `ImmyUnavailable`
naming the authority URL, which the transport retries with backoff. msal remembers a 5xx for 60 s
(its `http_cache`, default throttle) and would answer every retry from memory: the app gets a cache
we own and we empty it after an outage, so our own backoff decides when Entra is asked again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import AsyncGenerator
from typing import Any, NamedTuple

import httpx
import msal
import requests
import requests.adapters
from msal.exceptions import MsalServiceError

from bot.config import Settings
from bot.immybot.errors import ImmyAuthError, ImmyUnavailable
from bot.logs import register_secrets

log = logging.getLogger(__name__)

_AADSTS = re.compile(r"AADSTS(\d+)")
UNREACHABLE_AUTHORITY_FIX = (
    "check IMMYBOT_AUTHORITY_HOST and the network path (proxy, firewall) to it; "
    "a private CA is trusted through REQUESTS_CA_BUNDLE"
)
_TRANSIENT = frozenset({"temporarily_unavailable", "server_error"})
# msal's own margin: it treats a cached access token with less than 5 minutes left as expired.
EARLY_REFRESH_SECONDS = 300.0


class _Fresh(NamedTuple):
    """The last access token msal returned and the `time.monotonic()` until which it is fresh."""

    value: str
    until: float


def fresh_until(result: dict[str, Any], *, now: float, wall: float) -> float:
    """Until when (monotonic) msal would serve `result`'s token from its cache unchanged.

    `expires_in` less msal's 5-minute margin, or `refresh_on` (wall-clock epoch seconds, msal sets
    it for long-lived tokens) when that comes first. A result without `expires_in` is never fresh.
    """
    try:
        until = now + float(result["expires_in"]) - EARLY_REFRESH_SECONDS
    except (KeyError, TypeError, ValueError):
        return float("-inf")
    refresh_on = result.get("refresh_on")
    if isinstance(refresh_on, int | float):
        until = min(until, now + float(refresh_on) - wall)
    return until


def _requests_session(timeout: float) -> requests.Session:
    """What msal builds by default (one retry on connection errors), with a timeout on every call."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(max_retries=1)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.request = functools.partial(session.request, timeout=timeout)  # type: ignore[method-assign]
    return session


class TokenProvider:
    """Mints and caches ImmyBot access tokens for one app registration."""

    def __init__(self, settings: Settings, *, timeout: float = 30.0) -> None:
        self._settings = settings
        self._scopes = [settings.immybot_scope]
        self._timeout = timeout
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = asyncio.Lock()
        self._fresh: _Fresh | None = None
        self._http_cache: dict[str, Any] = {}  # msal's throttling memory (see the module docstring)
        self._last_status = 0  # of the authority's last answer (worker thread, under the lock)
        register_secrets([settings.immybot_client_secret.get_secret_value()])

    @property
    def scope(self) -> str:
        return self._scopes[0]

    async def token(self, *, stale: str | None = None) -> str:
        """A valid access token. Pass the token ImmyBot just refused as `stale` to get a fresh one.

        If another caller already replaced the stale token, that replacement is returned as is.
        """
        fresh = self._fresh
        if stale is None and fresh is not None and time.monotonic() < fresh.until:
            return fresh.value  # the fast path: no lock, no thread hop
        if stale is not None and fresh is not None and fresh.value == stale:
            self._fresh = None  # nobody else gets the refused token from the fast path
        async with self._lock:
            fresh = self._fresh
            if stale is None and fresh is not None and time.monotonic() < fresh.until:
                return fresh.value  # another caller refreshed it while we waited
            app = self._app or await asyncio.to_thread(self._build_or_explain)
            self._app = app
            result = await asyncio.to_thread(self._acquire, app)
            if stale is not None and result.get("access_token") == stale:
                log.info("immybot token refused by ImmyBot; minting a fresh one")
                await asyncio.to_thread(app.remove_tokens_for_client)
                result = await asyncio.to_thread(self._acquire, app)
            token = self._access_token(result)
            self._fresh = _Fresh(token, fresh_until(result, now=time.monotonic(), wall=time.time()))
        return token

    def close(self) -> None:
        """Close msal's HTTP session (its keep-alive connection to the authority)."""
        self._fresh = None
        if self._app is not None:
            self._app.http_client.close()
            self._app = None

    # ---- blocking msal calls (worker thread) ----------------------------------------------------

    def _build_app(self) -> msal.ConfidentialClientApplication:
        settings = self._settings
        session = _requests_session(self._timeout)  # ours, so it is closed even if msal fails to build
        session.hooks["response"].append(self._note_status)
        try:
            return msal.ConfidentialClientApplication(
                settings.immybot_client_id,
                client_credential=settings.immybot_client_secret.get_secret_value(),
                authority=settings.authority,
                instance_discovery=settings.instance_discovery,
                http_client=session,
                http_cache=self._http_cache,
            )
        except BaseException:
            session.close()
            raise

    def _note_status(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """msal hands back a 429's JSON body as if it were an answer: its status tells an outage apart."""
        self._last_status = response.status_code

    def _build_or_explain(self) -> msal.ConfidentialClientApplication:
        settings = self._settings
        try:
            return self._build_app()
        except ValueError as error:
            # OIDC discovery failed with a 4xx: msal re-raises a generic message, the AADSTS text is
            # in the error it was handling. Entra answers an unknown tenant with AADSTS90002.
            text = f"{error.__context__ or ''} {error}"
            match = _AADSTS.search(text)
            code = match.group(1) if match else "90002"
            raise ImmyAuthError(
                f"Entra could not find tenant {settings.immybot_tenant_id!r} at {settings.immybot_authority_host} "
                f"(AADSTS{code})",
                code=code,
            ) from None
        except OSError as error:  # requests' ConnectionError, SSLError, Timeout are OSErrors
            raise self._unreachable(error) from None
        except (MsalServiceError, RuntimeError) as error:  # OIDC discovery answered 5xx / 429
            raise self._outage(error) from None

    def _acquire(self, app: msal.ConfidentialClientApplication) -> dict[str, Any]:
        try:
            result = app.acquire_token_for_client(scopes=self._scopes)
        except OSError as error:
            raise self._unreachable(error) from None
        except MsalServiceError as error:  # a 5xx or 429 from the token endpoint
            raise self._outage(error) from None
        except (ValueError, TypeError, AttributeError, KeyError):  # msal reading a body that is not a token answer
            # (a proxy's HTML page, a JSON list): msal's own json.loads or lookups fail on it
            self._http_cache.clear()
            url = self._settings.authority
            raise ImmyUnavailable(
                f"the Entra authority {url} answered something that is not a token response",
                url=url,
                fix=UNREACHABLE_AUTHORITY_FIX,
            ) from None
        if not isinstance(result, dict):
            raise ImmyUnavailable(f"the Entra authority {self._settings.authority} gave no answer",
                                  url=self._settings.authority)  # fmt: skip
        return result

    def _outage(self, error: Exception) -> ImmyUnavailable:
        """`MsalServiceError("HTTP Error: 503", ...)` → ImmyUnavailable; msal's memory of it is dropped."""
        self._http_cache.clear()
        url = self._settings.authority
        what = (str(error.args[0]) if error.args else type(error).__name__).splitlines()[0][:120]
        return ImmyUnavailable(f"the Entra authority {url} failed ({what})", url=url)

    def _unreachable(self, error: OSError) -> ImmyUnavailable:
        self._http_cache.clear()
        url = self._settings.authority
        kind = type(error).__name__
        return ImmyUnavailable(
            f"cannot reach the Entra authority {url} ({kind})", url=url, fix=UNREACHABLE_AUTHORITY_FIX
        )

    def _access_token(self, result: dict[str, Any]) -> str:
        token = result.get("access_token")
        if isinstance(token, str) and token:
            return token
        error = result.get("error")
        if (isinstance(error, str) and error in _TRANSIENT) or self._last_status == 429:  # RFC 6749 §5.2: later
            self._http_cache.clear()
            url = self._settings.authority
            what = error if isinstance(error, str) and error else f"HTTP {self._last_status}"
            raise ImmyUnavailable(f"the Entra authority {url} is unavailable ({what})", url=url)
        description = str(result.get("error_description") or result.get("error") or "no access token returned")
        codes = result.get("error_codes")
        codes = codes if isinstance(codes, list) else []
        match = _AADSTS.search(description)
        code = str(codes[0]) if codes else (match.group(1) if match else None)
        first_line = description.splitlines()[0].split(" Trace ID:")[0].strip()
        if code and not first_line.startswith("AADSTS"):
            first_line = f"AADSTS{code}: {first_line}"
        return self._raise(first_line, code)

    def _raise(self, description: str, code: str | None) -> str:
        secret = self._settings.immybot_client_secret.get_secret_value()
        description = description.replace(secret, "[REDACTED]")
        raise ImmyAuthError(f"Entra refused the token request for {self.scope}: {description}", code=code)


class EntraAuth(httpx.Auth):
    """Adds `Authorization: Bearer …`; on a 401 re-mints the token once and resends the request."""

    def __init__(self, provider: TokenProvider) -> None:
        self._provider = provider

    def sync_auth_flow(self, request: httpx.Request) -> Any:  # pragma: no cover - async client only
        raise RuntimeError("EntraAuth works with httpx.AsyncClient only")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._provider.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            await response.aread()
            fresh = await self._provider.token(stale=token)
            request.headers["Authorization"] = f"Bearer {fresh}"
            yield request
