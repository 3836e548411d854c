"""The HTTP face of the bot: `POST /slack/events`, `GET /healthz`, `GET /metrics`.

`/slack/events` reads at most `MAX_BODY_BYTES` (a larger declared `Content-Length` → 413 before a byte
of it is read; a chunked body is counted while it streams and cut off at the limit → 413), checks the
signature (bad, stale or malformed → 401, nothing recorded), then the shape of the body (malformed →
400), and only then hands it to Bolt. This is the one signature check: the Bolt app is built with its
own request verification off (`bot.slack.app.make_app`), since every HTTP delivery comes through here
and Socket Mode deliveries are not signed. Anything that still escapes becomes a clean 500-free answer.

`/slack/events` is a bare ASGI handler in front of Starlette (which serves the rest): every keystroke in
a typeahead is one delivery, and Starlette's request, routing and middleware layers cost about as much
as the rest of our own work on one. For the same reason an options load that a feature answers
directly (`bot.slack.middleware.answer_options_directly`) skips Bolt: once signed and well-formed it
goes straight to that answer, its body percent-decoded in C (`form_payload`) rather than by
`urllib.parse` in Python, which took a quarter of the bot's CPU per keystroke (the payload carries
the whole modal).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import metrics
from bot.slack.middleware import OptionsAnswer, direct_options
from bot.slack.payloads import SHAPE_CHECKED, BadPayload, check_body

log = logging.getLogger(__name__)

HealthProbe = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]
MetricsRender = Callable[[], tuple[bytes, str]]
AckObserver = Callable[[float, int], None]

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1 << 20  # 1 MiB: Slack's largest deliveries (view submissions) are a few tens of kB
MAX_SKEW_SECONDS = 300
# Open connections (and requests in flight) the server accepts before answering 503: far above what
# Slack sends one workspace's bot at once, and well under the usual 1024 file descriptors a process
# gets, so a flood of idle connections cannot starve the database, ImmyBot and Slack clients.
MAX_CONNECTIONS = 512


def build_web_app(
    *,
    health: HealthProbe,
    metrics: MetricsRender,
    bolt_app: AsyncApp | None = None,
    signing_secret: str | None = None,
    on_ack: AckObserver | None = None,
) -> ASGIApp:
    """The ASGI app. Without `bolt_app` (Socket Mode) only health and metrics are served."""
    routes = [
        Route("/healthz", _health_endpoint(health), methods=["GET"]),
        Route("/metrics", _metrics_endpoint(metrics), methods=["GET"]),
    ]
    rest = Starlette(routes=routes)
    if bolt_app is None:
        return rest
    if not signing_secret:
        raise ValueError("HTTP mode needs the Slack signing secret")
    return SlackEvents(bolt_app, signing_secret, rest, on_ack)


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
_JSON = (b"content-type", b"application/json")


def _json(status: int, value: dict[str, Any], *extra: tuple[bytes, bytes]) -> Answer:
    return status, [_JSON, *extra], json.dumps(value).encode()


async def read_body(scope: Scope, receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused (`BodyTooLarge`) past `limit` bytes without reading more than that of it."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class SlackEvents:
    """`POST /slack/events` as bare ASGI; any other path or method goes to `rest` (Starlette)."""

    def __init__(self, bolt_app: AsyncApp, signing_secret: str, rest: ASGIApp, on_ack: AckObserver | None) -> None:
        self.bolt_app, self.secret, self.rest, self.on_ack = bolt_app, signing_secret, rest, on_ack
        self.direct: dict[str, OptionsAnswer] = direct_options(bolt_app)
        self.observe_options = metrics.ACK_LATENCY.labels("block_suggestion").observe  # as Bolt's AckTiming

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != EVENTS_PATH or scope["method"] != "POST":
            await self.rest(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            status, headers, body = await self.answer(scope, receive)
        except ClientGone:
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.on_ack is not None:
            self.on_ack(time.perf_counter() - started, status)

    async def answer(self, scope: Scope, receive: Receive) -> Answer:
        try:
            body = await read_body(scope, receive)
        except BodyTooLarge:
            # Closing the connection stops the server from reading (and discarding) the rest.
            return _json(413, {"error": "request body too large", "limit_bytes": MAX_BODY_BYTES},
                         (b"connection", b"close"))
        timestamp = signature = None
        for name, value in scope["headers"]:  # the first of each, as Bolt reads them
            if name == b"x-slack-request-timestamp" and timestamp is None:
                timestamp = value.decode("latin-1")
            elif name == b"x-slack-signature" and signature is None:
                signature = value.decode("latin-1")
        if not signature_ok(self.secret, body, timestamp or "", signature or ""):
            return _json(401, {"error": "invalid request"})
        if self.direct and b"block_suggestion" in body:
            answered = await self.answer_options(body)
            if answered is not None:
                return answered
        headers: dict[str, list[str]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        try:
            # Bolt parses the body once; its shape is checked on that parse (SHAPE_CHECKED tells the
            # middleware it need not check again).
            request = AsyncBoltRequest(body=body.decode("utf-8"), headers=headers, context=dict(SHAPE_CHECKED),
                                       query=parse_qs(scope.get("query_string", b"").decode("latin-1")))
            check_body(request.body)
        except Exception as error:  # not UTF-8, not JSON, not an object, not a delivery we understand
            log.info("rejected a malformed Slack delivery", extra={"reason": str(error)[:200]})
            return _json(400, {"error": "malformed request"})
        try:
            response = await self.bolt_app.async_dispatch(request)
        except Exception:
            log.exception("Slack delivery failed before it was acknowledged")
            return 200, [], b""
        if response.status >= 500:
            # A listener failed before ack; the central error handler already told the user.
            return 200, [], b""
        return response.status, _bolt_headers(response), response.body.encode()


    async def answer_options(self, body: bytes) -> Answer | None:
        """A signed options load a feature answers directly, answered; None: Bolt's way (any other
        delivery, or a body `form_payload` leaves to `urllib`)."""
        started = time.perf_counter()
        try:
            payload = json.loads(form_payload(body) or "null")
        except ValueError:
            return None  # not JSON: Bolt's way gives the 400
        if not isinstance(payload, dict) or payload.get("type") != "block_suggestion":
            return None
        try:
            check_body(payload)
        except BadPayload as error:
            log.info("rejected a malformed Slack delivery", extra={"reason": str(error)[:200]})
            return _json(400, {"error": "malformed request"})
        answer = self.direct.get(payload["action_id"])
        if answer is None:
            return None
        try:
            encoded = await answer(payload)
        except Exception:  # as the error handler answers a failed options load: no options
            log.exception("options load failed")
            encoded = b'{"options": []}'
        self.observe_options(time.perf_counter() - started)
        return 200, [_BOLT_JSON], encoded


_BOLT_JSON = (b"content-type", b"application/json;charset=utf-8")
_FORM_TO_QP = bytes.maketrans(b"+%", b" =")


def form_payload(body: bytes) -> str | None:
    """The JSON of an interactive delivery (`payload=<form-encoded JSON>`, nothing else), decoded as
    `urllib.parse.parse_qsl` would, or None when the body is not that plain (then use `urllib`).

    Form encoding is quoted-printable with `%` for `=` and `+` for a space, and `binascii.a2b_qp`
    decodes that in C. Exact when the body holds no `=`, `&`, CR or LF of its own and every `%`
    starts a valid escape: each shortens the text by two characters, which the lengths confirm."""
    if not body.startswith(b"payload="):
        return None
    encoded = body[len(b"payload="):]
    if b"=" in encoded or b"&" in encoded or b"\r" in encoded or b"\n" in encoded:
        return None
    quoted = encoded.translate(_FORM_TO_QP)
    decoded = binascii.a2b_qp(quoted)
    if len(quoted) - len(decoded) != 2 * encoded.count(b"%"):
        return None
    return decoded.decode("utf-8", "replace")


def _bolt_headers(response: BoltResponse) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1"))
            for name, value in response.first_headers_without_set_cookie().items()
            if name.lower() != "content-length"]


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
