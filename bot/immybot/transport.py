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

import asyncio
import http.cookiejar
import json
import logging
import random
from dataclasses import dataclass
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


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_seconds: float = 0.5
    cap_seconds: float = 10.0
    max_retry_after: float = 60.0  # a longer Retry-After is not waited for: ImmyRateLimited at once

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base·2^attempt)] (attempt counts from 0)."""
        return random.uniform(0.0, min(self.cap_seconds, self.base_seconds * 2**attempt))


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


class ImmyTransport:
    """The HTTP core of `ImmyBotClient`: `await transport.request("GET", "/api/v1/…")` → parsed JSON."""

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
    ) -> Any:
        route = f"{method} {path}"
        url = f"{self.base_url}{path}"
        policy = self.retry
        for attempt in range(policy.attempts):
            last = attempt == policy.attempts - 1
            try:
                # The absolute URL: httpx parses it once instead of parsing and merging it onto base_url.
                response = await self._http.request(method, url, params=params, json=json_body)
            except _NEVER_SENT as error:
                failure: ImmyBotError = ImmyUnavailable(
                    f"ImmyBot at {url} is unreachable ({type(error).__name__})", url=url, fix=UNREACHABLE_FIX
                )
                delay = policy.backoff(attempt)
            except ImmyUnavailable as error:  # the Entra authority, before anything was sent
                failure, delay = error, policy.backoff(attempt)
            except httpx.TransportError as error:  # read/write timeouts, dropped connections
                failure = ImmyUnavailable(f"ImmyBot at {url} did not answer ({type(error).__name__})", url=url)
                if not idempotent:
                    raise failure from None
                delay = policy.backoff(attempt)
            else:
                status = response.status_code
                if status == 429:
                    hint = parse_retry_after(response.headers.get("Retry-After"))
                    failure = ImmyRateLimited(f"ImmyBot is rate limiting {route} (429)", retry_after=hint)
                    if hint is not None and hint > policy.max_retry_after:
                        raise failure
                    delay = hint if hint is not None else policy.backoff(attempt)
                elif status >= 500:
                    failure = ImmyUnavailable(f"ImmyBot at {url} answered {status}", url=url)
                    if not idempotent:
                        raise failure
                    delay = policy.backoff(attempt)
                else:
                    return _decode(response, route)
            if last:
                raise failure
            log.warning(
                "immybot request retried",
                extra={"route": route, "error": str(failure), "attempt": attempt + 1, "delay_s": round(delay, 3)},
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _decode(response: httpx.Response, route: str) -> Any:
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
        return json.loads(response.content)
    except ValueError:
        raise ImmyUnexpectedContent(route, "a body that is not valid JSON") from None
