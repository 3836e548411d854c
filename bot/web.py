"""The HTTP face of the bot: `POST /slack/events`, `GET /healthz`, `GET /metrics` (Starlette).

`/slack/events` reads at most `MAX_BODY_BYTES` (a larger declared `Content-Length` → 413 before a byte
of it is read; a chunked body is counted while it streams and cut off at the limit → 413), checks the
signature (bad, stale or malformed → 401, nothing recorded), then the shape of the body (malformed →
400), and only then hands it to Bolt. This is the one signature check: the Bolt app is built with its
own request verification off (`bot.slack.app.make_app`), since every HTTP delivery comes through here
and Socket Mode deliveries are not signed. Anything that still escapes becomes a clean 500-free answer.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.slack.payloads import SHAPE_CHECKED, check_body

log = logging.getLogger(__name__)

HealthProbe = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]
MetricsRender = Callable[[], tuple[bytes, str]]
AckObserver = Callable[[float, int], None]


def build_web_app(
    *,
    health: HealthProbe,
    metrics: MetricsRender,
    bolt_app: AsyncApp | None = None,
    signing_secret: str | None = None,
    on_ack: AckObserver | None = None,
) -> Starlette:
    """The ASGI app. Without `bolt_app` (Socket Mode) only health and metrics are served."""
    routes = [
        Route("/healthz", _health_endpoint(health), methods=["GET"]),
        Route("/metrics", _metrics_endpoint(metrics), methods=["GET"]),
    ]
    if bolt_app is not None:
        if not signing_secret:
            raise ValueError("HTTP mode needs the Slack signing secret")
        routes.append(Route("/slack/events", _events_endpoint(bolt_app, signing_secret, on_ack), methods=["POST"]))
    return Starlette(routes=routes)


MAX_BODY_BYTES = 1 << 20  # 1 MiB: Slack's largest deliveries (view submissions) are a few tens of kB
MAX_SKEW_SECONDS = 300
# Open connections (and requests in flight) the server accepts before answering 503: far above what
# Slack sends one workspace's bot at once, and well under the usual 1024 file descriptors a process
# gets, so a flood of idle connections cannot starve the database, ImmyBot and Slack clients.
MAX_CONNECTIONS = 512
_TOO_LARGE = {"error": "request body too large", "limit_bytes": MAX_BODY_BYTES}


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused (`BodyTooLarge`) past `limit` bytes without reading more than that of it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _events_endpoint(
    bolt_app: AsyncApp, signing_secret: str, on_ack: AckObserver | None
) -> Callable[[Request], Awaitable[Response]]:
    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await read_body(request)
        except BodyTooLarge:
            # Closing the connection stops the server from reading (and discarding) the rest.
            return JSONResponse(_TOO_LARGE, status_code=413, headers={"connection": "close"})
        headers = request.headers
        if not signature_ok(signing_secret, body, headers.get("x-slack-request-timestamp", ""),
                            headers.get("x-slack-signature", "")):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            # Bolt parses the body once; its shape is checked on that parse (SHAPE_CHECKED tells the
            # middleware it need not check again).
            bolt_request = to_async_bolt_request(request, body, SHAPE_CHECKED)
            check_body(bolt_request.body)
        except Exception as error:  # not UTF-8, not JSON, not an object, not a delivery we understand
            log.info("rejected a malformed Slack delivery", extra={"reason": str(error)[:200]})
            return JSONResponse({"error": "malformed request"}, status_code=400)
        try:
            response = to_starlette_response(await bolt_app.async_dispatch(bolt_request))
        except Exception:
            log.exception("Slack delivery failed before it was acknowledged")
            response = Response(status_code=200)
        if response.status_code >= 500:
            # A listener failed before ack; the central error handler already told the user.
            response = Response(status_code=200)
        if on_ack is not None:
            on_ack(time.perf_counter() - started, response.status_code)
        return response

    return slack_events


_SIGNATURE_LENGTH = len("v0=") + 64  # hex SHA-256
_TIMESTAMP_MAX_DIGITS = 12


def signature_ok(secret: str, body: bytes, timestamp: str, signature: str, now: float | None = None) -> bool:
    """Slack's v0 signature over the raw bytes; a missing, malformed or stale header is simply invalid.

    `str.isdigit()` alone accepts `²` and other Unicode digits that `int()` refuses, and
    `hmac.compare_digest` raises on non-ASCII text: both are checked first, so these give 401, not 500.
    """
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _TIMESTAMP_MAX_DIGITS):
        return False
    if not (signature.isascii() and len(signature) == _SIGNATURE_LENGTH and signature.startswith("v0=")):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("v0=" + expected, signature)


def _health_endpoint(health: HealthProbe) -> Callable[[Request], Awaitable[Response]]:
    async def healthz(_: Request) -> Response:
        status, body = await health()
        return JSONResponse(body, status_code=status)

    return healthz


def _metrics_endpoint(render: MetricsRender) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(_: Request) -> Response:
        payload, content_type = render()
        return Response(payload, media_type=content_type)

    return metrics
