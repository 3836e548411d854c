"""The HTTP face of the bot: `POST /slack/events`, `GET /healthz`, `GET /metrics` (Starlette).

`/slack/events` checks the signature first (bad or stale → 401, nothing recorded), then the shape
of the body (malformed → 400), and only then hands the raw body to Bolt. Anything that still
escapes becomes a clean 500-free answer.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.slack.payloads import BadPayload, check_shape

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


def _events_endpoint(
    bolt_app: AsyncApp, signing_secret: str, on_ack: AckObserver | None
) -> Callable[[Request], Awaitable[Response]]:
    handler = AsyncSlackRequestHandler(bolt_app)

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.body()
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not signature_ok(signing_secret, body, timestamp, signature):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            check_shape(body, request.headers.get("content-type", ""))
        except BadPayload as error:
            log.info("rejected a malformed Slack delivery", extra={"reason": str(error)})
            return JSONResponse({"error": "malformed request"}, status_code=400)
        try:
            response = await handler.handle(request)
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


MAX_SKEW_SECONDS = 300


def signature_ok(secret: str, body: bytes, timestamp: str, signature: str, now: float | None = None) -> bool:
    """Slack's v0 signature over the raw bytes; a missing, malformed or stale header is simply invalid."""
    if not timestamp.isdigit() or not signature.startswith("v0="):
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
