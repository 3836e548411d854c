"""Contract tests generated from ImmyBot's OpenAPI document (issue 9).

For every route the bot reads, answers generated from the route's 200 response schema (plus the
extremes: every nullable null, every optional absent, unknown enum integers and names, empty lists)
go through the real `ImmyBotClient` over `httpx.MockTransport`. Each one must give a well-typed
result or one `ImmyBotError` naming the route, never a raw ValidationError / AttributeError / KeyError.
Every run-immy-service body the bot can send must validate against `RunImmyServiceRequestBody`.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from bot.config import load_settings
from bot.immybot.auth import _Fresh
from bot.immybot.client import ImmyBotClient
from bot.immybot.errors import ImmyBotError
from bot.immybot.models import (
    ComputerDetail,
    ComputerRow,
    MaintenanceAction,
    MaintenanceSession,
    RunResult,
    SoftwareItem,
    Tenant,
)
from bot.immybot.run_body import run_body
from bot.immybot.transport import RetryPolicy
from bot.workflow.model import Catalog, DesiredState, OfflineBehavior, RebootPreference, RunOptions, Software
from tests.conftest import OPENAPI, VALID_ENV, require_shared
from tests.contracts import schema as oas

GROUP = "0f8fad5b-d9cb-469f-a165-70867728950e"


@dataclass(frozen=True)
class Route:
    path: str  # as in openapi.json
    method: str
    call: Callable[[ImmyBotClient], Awaitable[Any]]
    expect: type | None  # each result item's type (lists) or the result's type
    rows: str | None = None  # LoadResult.data is untyped: the schema of its rows
    max_items: int = 2  # nested lists: small answers, so hundreds of them run in seconds

    def schema(self) -> dict[str, Any]:
        raw = oas.route_schema(self.path, self.method)
        if self.rows:  # `LoadResult.data: [{}]` — the rows the bot reads, as the document names them elsewhere
            raw = {"type": "object", "properties": {
                "data": {"type": "array", "nullable": True, "items": {"$ref": f"#/components/schemas/{self.rows}"}},
                "totalCount": {"type": "integer", "format": "int32"},
            }}  # fmt: skip
        return oas.to_json_schema(raw, max_items=self.max_items)


ROUTES = [
    Route("/api/v1/software/global", "get", lambda c: c.list_software(Catalog.GLOBAL), SoftwareItem),
    Route("/api/v1/software/local", "get", lambda c: c.list_software(Catalog.LOCAL), SoftwareItem),
    Route("/api/v1/computers/dx", "get", lambda c: c.list_computers(), ComputerRow, rows="ComputerListViewModel"),
    Route("/api/v1/computers/{computerId}", "get", lambda c: c.get_computer(5), ComputerDetail),
    Route("/api/v1/tenants", "get", lambda c: c.tenants(), Tenant),
    Route("/api/v1/run-immy-service", "post", lambda c: c.run_immy_service(
        computer_ids=[5], software=Software(id=714, name="Chrome", catalog=Catalog.GLOBAL),
        action=DesiredState.LATEST, options=RunOptions(), session_group_id=GROUP), RunResult),
    Route("/api/v1/maintenance-sessions/{sessionId}", "get", lambda c: c.get_session(9), MaintenanceSession),
    Route("/api/v1/maintenance-sessions/dx", "get", lambda c: c.find_sessions(5, GROUP), MaintenanceSession,
          rows="GetMaintenanceSessionResponse", max_items=1),
    Route("/api/v1/maintenance-actions/dx", "get", lambda c: c.session_actions(9), MaintenanceAction),
]  # fmt: skip


def _client(answer: dict[str, Any]) -> ImmyBotClient:
    """The real client; ImmyBot is a MockTransport answering `answer["body"]`; the token is already minted."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == answer["path"]:
            return httpx.Response(200, json=answer["body"])
        return httpx.Response(200, json={"id": 9, "sessionStatus": "Running"})  # find_sessions' by-id lookups

    settings = load_settings(**{k.lower(): v for k, v in VALID_ENV.items()})
    client = ImmyBotClient(settings, transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1))
    client.tokens._fresh = _Fresh("token", math.inf)  # no Entra here: the fast path serves this token
    return client


def _concrete(path: str) -> str:
    return path.replace("{computerId}", "5").replace("{sessionId}", "9")


async def _exercise(client: ImmyBotClient, route: Route, *, allowed: bool) -> None:
    """`allowed`: the answer is off-contract, so one clear ImmyBotError naming the route is a right answer too."""
    try:
        result = await route.call(client)
    except ImmyBotError as error:
        assert allowed, f"an answer the schema allows was refused: {error}"
        assert _concrete(route.path) in str(error), str(error)
        return
    items = result if isinstance(result, list) else [result]
    assert route.expect is not None and all(isinstance(item, route.expect) for item in items), result
    for item in items:
        for name in ("id", "name", "status"):
            value = getattr(item, name, None)
            assert value is None or isinstance(value, int | str), (name, value)


def _run_all(route: Route, bodies: Callable[[Callable[[Any, bool], None]], None]) -> None:
    loop = asyncio.new_event_loop()
    answer: dict[str, Any] = {"path": _concrete(route.path), "body": None}
    client = _client(answer)
    try:

        def check(body: Any, allowed: bool = False) -> None:
            answer["body"] = body
            loop.run_until_complete(_exercise(client, route, allowed=allowed))

        bodies(check)
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method.upper()} {r.path}")
def test_generated_answers_give_a_result_or_one_clear_error(route: Route) -> None:
    require_shared(OPENAPI)
    strategy = from_schema(route.schema())

    def bodies(check: Callable[[Any, bool], None]) -> None:
        given(strategy)(lambda body: check(body, False))()

    _run_all(route, bodies)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method.upper()} {r.path}")
def test_extreme_answers_give_a_result_or_one_clear_error(route: Route) -> None:
    require_shared(OPENAPI)
    junk = [None, [], {}, "text", 3, [None], {"data": None}, {"data": [None]}, {"data": "x"}, [[1]], [{"id": "x"}]]

    def bodies(check: Callable[[Any, bool], None]) -> None:
        for body in oas.extremes(route.schema()):  # as the schema allows (or a newer enum value): a result
            check(json.loads(json.dumps(body)), False)
        for body in junk:  # off-contract: a result or one clear error
            check(body, True)

    _run_all(route, bodies)


def test_the_two_nulls_that_broke_the_loop_are_read_as_empty_lists() -> None:
    require_shared(OPENAPI)
    session_route, computer_route = ROUTES[6], ROUTES[3]
    seen: list[Any] = []

    async def read(client: ImmyBotClient, route: Route) -> None:
        seen.append(await route.call(client))

    for route, body in ((session_route, {"id": 9, "sessionStatus": 1, "maintenanceActions": None}),
                        (computer_route, {"id": 5, "computerName": "PC", "sessions": None})):  # fmt: skip
        answer = {"path": _concrete(route.path), "body": body}
        client = _client(answer)
        asyncio.run(read(client, route))
    assert seen[0].actions == [] and seen[0].status == "Running"
    assert seen[1].sessions == [] and seen[1].name == "PC"


@given(
    computer_ids=st.lists(st.integers(1, 2**31 - 1), min_size=1, max_size=5),
    software_id=st.integers(1, 2**31 - 1),
    catalog=st.sampled_from(Catalog),
    action=st.sampled_from(DesiredState),
    preview=st.booleans(),
    reboot=st.sampled_from(RebootPreference),
    offline=st.sampled_from(OfflineBehavior),
    group=st.uuids(),
)
def test_every_run_body_we_can_send_is_valid(
    computer_ids: list[int], software_id: int, catalog: Catalog, action: DesiredState, preview: bool,
    reboot: RebootPreference, offline: OfflineBehavior, group: Any,
) -> None:  # fmt: skip
    require_shared(OPENAPI)
    body = run_body(
        computer_ids=computer_ids,
        software=Software(id=software_id, name="x", catalog=catalog),
        action=action,
        options=RunOptions(preview=preview, reboot=reboot, offline=offline),
        session_group_id=str(group),
    )
    schema = oas.to_json_schema(oas.request_schema("/api/v1/run-immy-service"), max_items=10_000)
    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
