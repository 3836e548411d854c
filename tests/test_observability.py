"""Metrics, health and logs: what an operator scrapes, probes and reads."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import metrics
from bot.health import CachedProbe, HealthCheck, ProbeFailed, catalog_state, slack_probe
from bot.logs import register_secrets, request_context, setup_logging
from immybot_slack_sandbox.server import serve


def sample(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_render_is_prometheus_text_with_idiomatic_names() -> None:
    metrics.REQUESTS.labels("request.created").inc()
    payload, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(payload.decode())}
    for expected in ("immybot_slack_requests", "immybot_slack_approvals", "immybot_slack_sessions",
                     "immybot_slack_immybot_request_seconds", "immybot_slack_ack_seconds"):
        assert expected in names
    assert b"_created" not in payload


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/api/v1/maintenance-sessions/1234", "/api/v1/maintenance-sessions/{id}"),
        ("/api/v1/maintenance-sessions/12/logs?x=1", "/api/v1/maintenance-sessions/{id}/logs"),
        ("/api/v1/computers/dx", "/api/v1/computers/dx"),
        ("/api/v1/software/global/4f9c6b1e-0000-4c1b-9a7e-0123456789ab", "/api/v1/software/global/{id}"),
        ("/api/v1/run-immy-service", "/api/v1/run-immy-service"),
    ],
)
def test_route_template_strips_ids(path: str, route: str) -> None:
    assert metrics.route_template(path) == route


async def _fake_api(request: Request) -> Response:
    if request.url.path.endswith("/boom"):
        return JSONResponse({"error": "down"}, status_code=503)
    return JSONResponse({"ok": True})


async def test_immybot_transport_records_latency_and_errors_per_route() -> None:
    app = Starlette(routes=[Route("/api/v1/maintenance-sessions/{rest:path}", _fake_api)])
    route = "/api/v1/maintenance-sessions/{id}"
    before = sample("immybot_slack_immybot_request_seconds_count", method="GET", route=route)
    errors_before = sample("immybot_slack_immybot_errors_total", route=route + "/boom", kind="503")
    async with serve(app) as served:
        transport = metrics.InstrumentedTransport(httpx.AsyncHTTPTransport())
        async with httpx.AsyncClient(base_url=served.url, transport=transport) as client:
            assert (await client.get("/api/v1/maintenance-sessions/41")).status_code == 200
            assert (await client.get("/api/v1/maintenance-sessions/42")).status_code == 200
            assert (await client.get("/api/v1/maintenance-sessions/43/boom")).status_code == 503
        async with httpx.AsyncClient(base_url=served.url, event_hooks=metrics.immybot_event_hooks()) as client:
            await client.get("/api/v1/maintenance-sessions/44")
    assert sample("immybot_slack_immybot_request_seconds_count", method="GET", route=route) == before + 3
    assert sample("immybot_slack_immybot_errors_total", route=route + "/boom", kind="503") == errors_before + 1

    # A transport failure (nothing listens any more) is counted by kind.
    dead = served.url
    connect_before = sample("immybot_slack_immybot_errors_total", route="/api/v1/computers/dx", kind="connect")
    async with httpx.AsyncClient(base_url=dead, transport=metrics.InstrumentedTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/api/v1/computers/dx")
    assert sample("immybot_slack_immybot_errors_total", route="/api/v1/computers/dx", kind="connect") == (
        connect_before + 1
    )


async def _fake_slack(request: Request) -> Response:
    method = request.url.path.rsplit("/", 1)[-1]
    if method == "chat.postMessage":
        return JSONResponse({"ok": False, "error": "channel_not_found"})
    return JSONResponse({"ok": True, "user_id": "UBOT", "team": "Demo"})


async def test_slack_api_errors_counted_by_method_and_error() -> None:
    app = Starlette(routes=[Route("/api/{method}", _fake_slack, methods=["POST"])])
    before = sample("immybot_slack_slack_api_errors_total", method="chat.postMessage", error="channel_not_found")
    async with serve(app) as served:
        client = AsyncWebClient(token="xoxb-x", base_url=served.url + "/api/",
                                retry_handlers=[metrics.SlackErrorRecorder()])
        await client.auth_test()
        with pytest.raises(Exception, match="channel_not_found"):
            await client.chat_postMessage(channel="C1", text="hi")
    after = sample("immybot_slack_slack_api_errors_total", method="chat.postMessage", error="channel_not_found")
    assert after == before + 1
    assert sample("immybot_slack_slack_api_errors_total", method="auth.test", error="channel_not_found") == 0


async def test_ack_middleware_times_by_delivery_kind() -> None:
    seen: list[str] = []

    async def next_() -> str:
        await asyncio.sleep(0.01)
        seen.append("ran")
        return "response"

    before = sample("immybot_slack_ack_seconds_count", kind="block_suggestion")
    assert await metrics.ack_timing_middleware({"type": "block_suggestion"}, next_) == "response"
    assert sample("immybot_slack_ack_seconds_count", kind="block_suggestion") == before + 1
    assert metrics.delivery_kind({"command": "/immy"}) == "command"
    assert metrics.delivery_kind({"type": "event_callback", "event": {"type": "app_home_opened"}}) == (
        "event:app_home_opened"
    )


class _Catalog:
    loaded = True

    def __init__(self, age: float, sizes: dict[str, int]) -> None:
        self.age_seconds = age
        self.sizes = sizes


def test_catalog_gauges_read_at_scrape_time() -> None:
    catalog = _Catalog(12.5, {"global": 3, "local": 2, "computers": 7})
    metrics.bind_catalog(catalog)
    try:
        assert sample("immybot_slack_catalog_age_seconds") == 12.5
        catalog.sizes = {"global": 4, "local": 2, "computers": 7}
        assert sample("immybot_slack_catalog_items", kind="global") == 4
    finally:
        metrics.bind_catalog(None)


# ---- health ---------------------------------------------------------------------------------------


async def _ok() -> dict[str, object]:
    return {"detail": "fine"}


def _failing(message: str, degraded: bool = False):  # type: ignore[no-untyped-def]
    async def probe() -> None:
        raise ProbeFailed(message, degraded=degraded)

    return probe


async def test_health_ok_reports_every_component_and_catalog() -> None:
    health = HealthCheck(database=_ok, slack=_ok, immybot_token=_ok,
                         catalog=lambda: _Catalog(30, {"global": 5, "local": 1, "computers": 9}))
    status, body = await health()
    assert status == 200 and body["status"] == "ok"
    assert set(body["components"]) == {"database", "slack", "immybot_token", "catalog"}
    assert body["components"]["catalog"]["sizes"]["computers"] == 9


@pytest.mark.parametrize("component", ["database", "slack", "immybot_token"])
async def test_health_503_names_the_failing_component(component: str) -> None:
    probes = {"database": _ok, "slack": _ok, "immybot_token": _ok}
    probes[component] = _failing("AADSTS7000215 client_secret=supersecretvalue1 rejected")
    status, body = await HealthCheck(**probes)()  # type: ignore[arg-type]
    assert status == 503
    assert body["failing"] == [component]
    assert "supersecretvalue1" not in json.dumps(body)


async def test_health_stale_catalog_and_unreachable_slack_are_degraded_not_503() -> None:
    health = HealthCheck(database=_ok, slack=_failing("Slack unreachable", degraded=True), immybot_token=_ok,
                         catalog=lambda: _Catalog(3 * 15 * 60 + 1, {"global": 5}), refresh_minutes=15)
    status, body = await health()
    assert status == 200 and body["status"] == "degraded"
    assert body["components"]["catalog"]["status"] == "degraded"
    assert catalog_state(None, 15)["status"] == "loading"
    assert catalog_state(_Catalog(1, {"global": 0, "computers": 0}), 15)["status"] == "degraded"


async def test_health_probe_timeout_and_cache() -> None:
    calls = 0
    clock = [100.0]

    async def slow() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(1)

    probe = CachedProbe(slow, ok_ttl=60, fail_ttl=5, timeout=0.05, clock=lambda: clock[0])
    first = await probe()
    assert first["status"] == "failing" and "0.05" in first["error"]
    await probe()
    assert calls == 1  # cached
    clock[0] += 6
    await probe()
    assert calls == 2


async def test_slack_probe_against_http() -> None:
    app = Starlette(routes=[Route("/api/{method}", _fake_slack, methods=["POST"])])
    async with serve(app) as served:
        good = await slack_probe(AsyncWebClient(token="xoxb-x", base_url=served.url + "/api/"))()
        assert good == {"team": "Demo", "bot_user": "UBOT"}

    async def reject(_: Request) -> Response:
        return JSONResponse({"ok": False, "error": "invalid_auth"})

    async with serve(Starlette(routes=[Route("/api/{method}", reject, methods=["POST"])])) as served:
        health = HealthCheck(database=_ok, immybot_token=_ok,
                             slack=slack_probe(AsyncWebClient(token="xoxb-x", base_url=served.url + "/api/")))
        status, body = await health()
    assert status == 503 and body["failing"] == ["slack"]
    assert "invalid_auth" in body["components"]["slack"]["error"]


# ---- logs ---------------------------------------------------------------------------------------------


def test_log_lines_carry_the_request_id_and_never_a_secret() -> None:
    stream = io.StringIO()
    setup_logging("INFO", "json", stream=stream)
    register_secrets(["s3cr3t-client-value"])
    log = logging.getLogger("bot.test")
    try:
        with request_context(42):
            log.info("approved", extra={"approver": "U1"})
            log.info("token xoxb-1234-abcd and secret s3cr3t-client-value",
                     extra={"headers": {"Authorization": "Bearer eyJhbGciOi.eyJzdWIiOiJ4.sig"}})
        log.info("outside")
    finally:
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line.get("request_id") for line in lines] == ["42", "42", None]
    assert lines[0]["approver"] == "U1"
    text = stream.getvalue()
    for secret in ("xoxb-1234-abcd", "s3cr3t-client-value", "eyJhbGciOi"):
        assert secret not in text
