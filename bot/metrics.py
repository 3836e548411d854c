"""Prometheus metrics: one dedicated registry, the metric objects the bot increments, and the hooks
that instrument the ImmyBot client, the Slack Web API client and Bolt's ack path without touching
their code.

Wiring (done once by the composition root):

* ImmyBot: build its `httpx.AsyncClient` with `transport=InstrumentedTransport(httpx.AsyncHTTPTransport())`
  (latency and errors per route template, every attempt, transport failures included), or attach
  `event_hooks=immybot_event_hooks()` (HTTP answers only).
* Slack Web API: `AsyncWebClient(..., retry_handlers=[SlackErrorRecorder(), *others])`. Bolt copies
  the retry handlers into every per-request client, so every `ok: false` answer is counted.
* Ack latency: `app.middleware(ack_timing_middleware)` (HTTP and Socket Mode alike), or
  `observe_ack(seconds, kind)` from the web layer.
* Catalog: `bind_catalog(catalog)`; its age and sizes are read at scrape time.

`render()` gives the text exposition for `GET /metrics`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import httpx
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

disable_created_metrics()  # no `_created` twin series: they double the output and nobody graphs them

PREFIX = "immybot_slack"
REGISTRY = CollectorRegistry(auto_describe=True)

# ---- request lifecycle (counters per transition; `event` mirrors the audit event names) -----------

REQUESTS = Counter(
    f"{PREFIX}_requests",
    "Request lifecycle events, by audit event name (request.created, request.finished, ...).",
    ["event"],
    registry=REGISTRY,
)
APPROVALS = Counter(f"{PREFIX}_approvals", "Requests approved (auto-approved previews included).", registry=REGISTRY)
DENIALS = Counter(f"{PREFIX}_denials", "Requests denied by an approver.", registry=REGISTRY)
LEASE_TAKEOVERS = Counter(
    f"{PREFIX}_lease_takeovers",
    "Sessions this replica took over from another whose lease ran out (PostgreSQL replicas, SPEC §9).",
    registry=REGISTRY,
)
RECOVERIES = Counter(
    f"{PREFIX}_recoveries",
    "Work this replica resumed after another replica's lease on it ran out, by kind (start, summary, "
    "preview-start; PostgreSQL replicas, SPEC §9).",
    ["work"],
    registry=REGISTRY,
)
EXPIRIES = Counter(f"{PREFIX}_expiries", "Requests that expired undecided (APPROVAL_TTL_HOURS).", registry=REGISTRY)
REFUSALS = Counter(
    f"{PREFIX}_refusals",
    "Refused submissions and decisions, by kind (e.g. request.refused, decision.refused, not_requester).",
    ["kind"],
    registry=REGISTRY,
)
SESSIONS = Counter(
    f"{PREFIX}_sessions",
    "ImmyBot maintenance sessions that reached an end, by outcome (Passed, Failed, Cancelled, timed_out...).",
    ["outcome"],
    registry=REGISTRY,
)

# ---- dependencies ------------------------------------------------------------------------------

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

IMMYBOT_LATENCY = Histogram(
    f"{PREFIX}_immybot_request_seconds",
    "ImmyBot API call latency per attempt, by method and route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
IMMYBOT_ERRORS = Counter(
    f"{PREFIX}_immybot_errors",
    "Failed ImmyBot API attempts, by route template and kind (HTTP status, timeout, connect, html_body...).",
    ["route", "kind"],
    registry=REGISTRY,
)
IMMYBOT_ROWS_SKIPPED = Counter(
    f"{PREFIX}_immybot_rows_skipped",
    "Rows of an ImmyBot list the bot could not use (e.g. a software item with a null id), by route template.",
    ["route"],
    registry=REGISTRY,
)
SLACK_API_ERRORS = Counter(
    f"{PREFIX}_slack_api_errors",
    "Slack Web API calls answered ok=false (or failed in transport), by method and error.",
    ["method", "error"],
    registry=REGISTRY,
)
ACK_LATENCY = Histogram(
    f"{PREFIX}_ack_seconds",
    "Time from receiving a Slack delivery to acknowledging it, by kind (command, block_suggestion, ...).",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
    registry=REGISTRY,
)


def render() -> tuple[bytes, str]:
    """The Prometheus text exposition of every metric, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# ---- catalog gauges, read at scrape time ----------------------------------------------------------


class _CatalogCollector(Collector):
    """Exports `catalog_age_seconds` and `catalog_items{kind}` from whatever catalog is bound."""

    def __init__(self) -> None:
        self.source: Any = None

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # values appear only once a catalog is bound

    def collect(self) -> Iterator[GaugeMetricFamily]:
        catalog = self.source
        if catalog is None:
            return
        age = _read(catalog, "age_seconds")
        if isinstance(age, int | float):
            yield GaugeMetricFamily(
                f"{PREFIX}_catalog_age_seconds", "Seconds since the software and computer lists were loaded.", age
            )
        sizes = _read(catalog, "sizes")
        if isinstance(sizes, Mapping):
            family = GaugeMetricFamily(
                f"{PREFIX}_catalog_items", "Items in the cached catalog, by kind.", labels=["kind"]
            )
            for kind, size in sorted(sizes.items()):
                family.add_metric([str(kind)], float(size))
            yield family


def _read(obj: Any, name: str) -> Any:
    value = getattr(obj, name, None)
    return value() if callable(value) else value


_CATALOG = _CatalogCollector()
REGISTRY.register(_CATALOG)
CATALOG_AGE = f"{PREFIX}_catalog_age_seconds"
CATALOG_SIZE = f"{PREFIX}_catalog_items"


def bind_catalog(catalog: Any) -> None:
    """Report this catalog's `age_seconds` and `sizes` (attributes or methods) at every scrape."""
    _CATALOG.source = catalog


# ---- ImmyBot: httpx instrumentation ---------------------------------------------------------------

_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d+\.\d+[\w.+-]*)$"
)


def route_template(path: str) -> str:
    """`/api/v1/maintenance-sessions/123?x=1` → `/api/v1/maintenance-sessions/{id}` (bounded label values)."""
    path = path.split("?", 1)[0]
    parts = ["{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/")]
    return "/".join(parts) or "/"


def error_kind(error: BaseException) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.ConnectError):
        return "connect"
    if isinstance(error, httpx.TransportError):
        return "transport"
    return type(error).__name__


def _observe(method: str, path: str, seconds: float, status: int | None) -> None:
    route = route_template(path)
    IMMYBOT_LATENCY.labels(method, route).observe(seconds)
    if status is not None and status >= 400:
        IMMYBOT_ERRORS.labels(route, str(status)).inc()


class InstrumentedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: times every attempt and counts HTTP errors and transport failures."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException as error:
            route = route_template(request.url.path)
            IMMYBOT_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
            IMMYBOT_ERRORS.labels(route, error_kind(error)).inc()
            raise
        _observe(request.method, request.url.path, time.perf_counter() - started, response.status_code)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


_STARTED = "immybot_slack_started"


def immybot_event_hooks() -> dict[str, list[Callable[..., Awaitable[None]]]]:
    """httpx `event_hooks` recording latency and HTTP errors per route (not transport failures)."""

    async def on_request(request: httpx.Request) -> None:
        request.extensions[_STARTED] = time.perf_counter()

    async def on_response(response: httpx.Response) -> None:
        started = response.request.extensions.get(_STARTED)
        if started is not None:
            elapsed = time.perf_counter() - started
            _observe(response.request.method, response.request.url.path, elapsed, response.status_code)

    return {"request": [on_request], "response": [on_response]}


# ---- Slack Web API errors ----------------------------------------------------------------------


def slack_method(url: str) -> str:
    """`https://slack.com/api/chat.postMessage` → `chat.postMessage`."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "unknown"


def record_slack_error(method: str, error: str) -> None:
    SLACK_API_ERRORS.labels(method, error).inc()


class SlackErrorRecorder(AsyncRetryHandler):
    """A retry handler that never retries: it counts `ok: false` answers and transport failures.

    Put it first in `retry_handlers`; it always answers False so the next handler still decides.
    """

    def __init__(self) -> None:
        super().__init__(max_retry_count=0)

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = slack_method(request.url)
        if error is not None:
            record_slack_error(method, type(error).__name__)
        elif response is not None:
            body = response.body if isinstance(response.body, dict) else None
            if body is not None and body.get("ok") is False:
                record_slack_error(method, str(body.get("error") or "unknown"))
            elif response.status_code >= 400:
                record_slack_error(method, f"http_{response.status_code}")
        return False


# ---- ack latency --------------------------------------------------------------------------------


def delivery_kind(body: Mapping[str, Any]) -> str:
    """What a Slack delivery is: `command`, `block_suggestion`, `view_submission`, `block_actions`, `event`..."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        return f"event:{event.get('type')}" if isinstance(event, Mapping) else "event"
    return str(kind) if kind else "unknown"


def observe_ack(seconds: float, kind: str = "http") -> None:
    ACK_LATENCY.labels(kind).observe(seconds)


async def ack_timing_middleware(body: dict[str, Any], next_: Callable[[], Awaitable[Any]]) -> Any:
    """Bolt global middleware: `await next()` returns once the listener has acked (or timed out)."""
    started = time.perf_counter()
    try:
        return await next_()
    finally:
        observe_ack(time.perf_counter() - started, delivery_kind(body))


class AckTiming(AsyncMiddleware):
    """`ack_timing_middleware` as a plain Bolt middleware (`app.middleware(AckTiming())`): Bolt calls it
    without building keyword arguments for it, which a function middleware costs on every delivery."""

    async def async_process(self, *, req: Any, resp: Any, next: Callable[[], Awaitable[Any]]) -> Any:
        return await ack_timing_middleware(req.body, next)
