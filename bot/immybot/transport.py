"""One shared `httpx.AsyncClient` for ImmyBot: retries with backoff, status → error, JSON checks.

Retry policy (SPEC §5): 429 (honouring `Retry-After`, seconds or an HTTP date), 5xx, timeouts and
connection errors are retried with exponential backoff and full jitter, a bounded number of
times; then `ImmyRateLimited` / `ImmyUnavailable`.

Non-idempotent requests (`idempotent=False`, i.e. `POST /run-immy-service`) are retried ONLY when
ImmyBot certainly did not process them: 429, a refused connection or a connect timeout. A 5xx or
a read timeout after the body was sent may or may not have started sessions, so it is raised at
once; the caller looks the sessions up by `sessionGroupId` before trying again.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bot.immybot.errors import (
    ImmyBotError,
    ImmyForbidden,
    ImmyNotFound,
    ImmyRateLimited,
    ImmyRejected,
    ImmyUnavailable,
    ImmyUnexpectedContent,
)
from bot.logs import redact
from bot.retry import RetryPolicy, retry_call

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Failures that prove the request never reached ImmyBot's application: safe to resend anything.
UNREACHABLE_FIX = "check IMMYBOT_SUBDOMAIN / IMMYBOT_BASE_URL and the network path (DNS, proxy, firewall) to it"
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _NoCookies(http.cookiejar.CookieJar):
    """ImmyBot's API is bearer-token only: its cookies (e.g. App Service affinity) are not kept.

    Parsing every response's `Set-Cookie` through `http.cookiejar` cost ~0.1 ms per request.
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds to wait: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class ImmyBotHttp:
    """The HTTP core of `ImmyBotClient`: `await http.request("GET", "/api/v1/…")` → parsed JSON."""

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth,
        *,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "immybot-slack"},
            cookies=_NoCookies(),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool = True,
        decode: Callable[[bytes], Any] | None = None,
        stream: Callable[[AsyncIterator[bytes]], Awaitable[Any]] | None = None,
    ) -> Any:
        """The answer's JSON; `decode` reads the body's bytes instead of `json.loads` (a `ValueError` from it
        means the body is not JSON); `stream` reads a JSON answer's body as it arrives, chunk by chunk (a
        list of 30 MB is never held whole)."""
        route = f"{method} {path}"
        url = f"{self.base_url}{path}"

        async def attempt() -> Any:
            try:
                # The absolute URL: httpx parses it once instead of parsing and merging it onto base_url.
                if stream is None:
                    response = await self._http.request(method, url, params=params, json=json_body)
                else:
                    request = self._http.build_request(method, url, params=params, json=json_body)
                    response = await self._http.send(request, stream=True)
            except _NEVER_SENT as error:
                raise ImmyUnavailable(
                    f"ImmyBot at {url} is unreachable ({type(error).__name__})", url=url, fix=UNREACHABLE_FIX
                ) from None
            except ImmyUnavailable:  # the Entra authority, before anything was sent
                raise
            except httpx.TransportError as error:  # read/write timeouts, dropped connections
                failure = ImmyUnavailable(f"ImmyBot at {url} did not answer ({type(error).__name__})", url=url)
                raise (failure if idempotent else _SentOnce(failure)) from None
            try:
                status = response.status_code
                if status == 429:
                    hint = parse_retry_after(response.headers.get("Retry-After"))
                    raise ImmyRateLimited(f"ImmyBot is rate limiting {route} (429)", retry_after=hint)
                if status >= 500:
                    failure = ImmyUnavailable(f"ImmyBot at {url} answered {status}", url=url)
                    raise failure if idempotent else _SentOnce(failure)
                if stream is not None:
                    if 200 <= status < 300 and "html" not in response.headers.get("Content-Type", "").lower():
                        return await stream(response.aiter_bytes())
                    await response.aread()  # an error, or a page where JSON belongs: read as any answer
                return _decode(response, route, decode)
            except httpx.TransportError as error:  # a streamed body that broke off
                failure = ImmyUnavailable(f"ImmyBot at {url} broke off its answer ({type(error).__name__})", url=url)
                raise (failure if idempotent else _SentOnce(failure)) from None
            finally:
                if stream is not None:
                    await response.aclose()

        def retried(attempt_number: int, error: BaseException, delay: float) -> None:
            log.warning("immybot request retried", extra={
                "route": route, "error": str(error), "attempt": attempt_number, "delay_s": round(delay, 3)})

        try:
            return await retry_call(attempt, self.retry, on_retry=retried,
                                    retry_if=lambda error: isinstance(error, ImmyUnavailable | ImmyRateLimited))
        except _SentOnce as once:
            raise once.error from None


class _SentOnce(Exception):
    """A failure after a non-idempotent request may have reached ImmyBot: raised at once, never resent."""

    def __init__(self, error: ImmyBotError) -> None:
        super().__init__(str(error))
        self.error = error


def _decode(response: httpx.Response, route: str, decode: Callable[[bytes], Any] | None = None) -> Any:
    status = response.status_code
    if status in (401, 403):
        raise ImmyForbidden(f"ImmyBot refused the bot's token on {route} ({status}), even after a fresh token")
    if status == 404:
        raise ImmyNotFound(f"ImmyBot has no such resource: {route} (404)")
    if status >= 400:
        snippet = redact(response.text[:200].strip())
        raise ImmyRejected(f"ImmyBot rejected {route} ({status}): {snippet}", status=status)
    if not response.content.strip():
        return None
    content_type = response.headers.get("Content-Type", "").lower()
    if "html" in content_type or response.content.lstrip()[:1] == b"<":
        raise ImmyUnexpectedContent(route, f"an HTML page (Content-Type {content_type or 'missing'}), not JSON")
    if content_type and not any(kind in content_type for kind in ("json", "text/plain")):
        raise ImmyUnexpectedContent(route, f"Content-Type {content_type}, not JSON")
    try:
        return (decode or json.loads)(response.content)
    except ValueError:
        raise ImmyUnexpectedContent(route, "a body that is not valid JSON") from None
