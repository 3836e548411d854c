"""A fake ImmyBot instance (Starlette), as strict as the real one where the bot can tell.

    fake = FakeImmyBot(generate(computers=80), token_verifier=entra.verify)
    async with fake.running() as url:          # http://127.0.0.1:<port>, audience defaults to it
        ...
        fake.requests_to("/api/v1/run-immy-service")      # recorded: method, path, query, json, audience
        fake.script_computer(12, ["Created", "Running", "Failed"])
        fake.faults.next("/api/v1/computers/dx", Fault.server_error())
        fake.script_detection(12, "offline"); fake.clock.advance(hours=6)   # see immy_extra_routes

Every API call needs `Authorization: Bearer <token>` minted by the fake Entra for `audience`
(the instance URL) and an app in `authorized_clients` (the Enterprise App registered as a User);
otherwise 401. Unknown routes answer the web app's HTML with 200, like ImmyBot. Enums come back as
integers in some places and names in others, like ImmyBot. Every answer carries every property of its
response schema, nulls included, like ASP.NET Core (`shape="full"`); `shape="sparse"` leaves null
properties out and `shape="int_enums"` sends every enum as its integer (see `immy_shapes`).
`body_validator` (tests build one from openapi.json) checks every run-immy-service body; an invalid
body gets 400 and is recorded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from immybot_slack_sandbox.immy_data import ImmyData, generate
from immybot_slack_sandbox.immy_extra_routes import ExtraRoutes
from immybot_slack_sandbox.immy_faults import WEB_APP_HTML, FaultPlan
from immybot_slack_sandbox.immy_schedule import FakeClock, schedule_errors
from immybot_slack_sandbox.immy_sessions import FakeSession, Script, SessionStore
from immybot_slack_sandbox.immy_shapes import Shape, Shaper
from immybot_slack_sandbox.server import TlsFiles, serve

TokenVerifier = Callable[[str], dict[str, Any] | None]
BodyValidator = Callable[[Any], list[str]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    audience: str | None


class FakeImmyBot(ExtraRoutes):
    def __init__(
        self,
        data: ImmyData | None = None,
        *,
        token_verifier: TokenVerifier | None = None,
        audience: str | None = None,
        authorized_clients: set[str] | None = None,
        body_validator: BodyValidator | None = None,
        dx_equals_ignores_case: bool = False,
        shape: Shape = "full",
    ) -> None:
        self.data = data or generate()
        self.token_verifier = token_verifier
        self.audience = audience
        self.authorized_clients = authorized_clients  # None: any app the verifier accepts
        self.body_validator = body_validator
        self.dx_equals_ignores_case = dx_equals_ignores_case
        self.shaper = Shaper(shape)
        self.faults = FaultPlan()
        self.store = SessionStore()
        self.clock = FakeClock()  # scheduled sessions wait on it: `clock.set(...)`, `clock.advance(hours=…)`
        self.detections: dict[int, tuple[str, str | None]] = {}
        self.requests: list[RecordedRequest] = []
        self.invalid_bodies: list[tuple[Any, list[str]]] = []
        self.url = ""
        api = "/api/v1"
        self.app = Starlette(
            routes=[
                Route(f"{api}/software/global", self._software_global),
                Route(f"{api}/software/local", self._software_local),
                Route(f"{api}/computers", self._computers_search),
                Route(f"{api}/computers/dx", self._computers_dx),
                Route(f"{api}/computers/{{computer_id:int}}", self._computer),
                Route(f"{api}/tenants", self._tenants),
                Route(f"{api}/run-immy-service", self._run, methods=["POST"]),
                Route(f"{api}/run-immy-service-new", self._run_new, methods=["POST"]),
                Route(f"{api}/maintenance-sessions/{{session_id:int}}/logs", self._logs),
                Route(f"{api}/maintenance-sessions/dx", self._sessions_dx),
                Route(f"{api}/maintenance-sessions/{{session_id:int}}", self._session),
                Route(f"{api}/maintenance-sessions/{{session_id:int}}/cancel", self._cancel),
                Route(f"{api}/maintenance-actions/dx", self._actions_dx),
                Route("/{path:path}", self._web_app, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ]
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:  # ASGI: record, delay, faults, auth
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        body = await request.body()
        path = request.url.path

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode(errors="replace")
        audience, response = self._authorize(request)
        self.requests.append(RecordedRequest(request.method, path, dict(request.query_params), parsed, audience))
        delay = self.faults.delay_for(path)
        if delay:
            await asyncio.sleep(delay)
        fault = self.faults.arrive(path)
        if fault is not None:
            response = Response(fault.body, status_code=fault.status, media_type=fault.content_type,
                                headers=dict(fault.headers))  # fmt: skip
        if response is None:
            return await self.app(scope, replay, send)
        return await response(scope, replay, send)

    @asynccontextmanager
    async def running(self, tls: TlsFiles | None = None) -> AsyncIterator[str]:
        """Serve on 127.0.0.1 (HTTP unless `tls`); yields the base URL; `audience` defaults to it."""
        async with serve(self, tls=tls) as served:
            self.url = served.url
            if self.audience is None:
                self.audience = served.url
            yield served.url

    # ---- inspection and driving ----------------------------------------------------------------

    def requests_to(self, pattern: str, method: str | None = None) -> list[RecordedRequest]:
        from fnmatch import fnmatchcase

        return [r for r in self.requests if fnmatchcase(r.path, pattern) and (method is None or r.method == method)]

    def script_computer(self, computer_id: int, statuses: list[str], failure_message: str | None = None) -> None:
        """The next session started on this computer walks `statuses`, one step per GET of it."""
        script = Script(list(statuses))
        if failure_message:
            script.failure_message = failure_message
        self.store.scripts[computer_id] = script

    def set_session_status(self, session_id: int, status: str) -> None:
        self.store.set_status(session_id, status)

    def session(self, session_id: int) -> FakeSession:
        return self.store.sessions[session_id]

    @property
    def sessions(self) -> dict[int, FakeSession]:
        return self.store.sessions

    # ---- auth ------------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> tuple[str | None, Response | None]:
        header = request.headers.get("Authorization", "")
        if not request.url.path.startswith("/api/"):
            return None, None
        unauthorized = Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if not header.lower().startswith("bearer "):
            return None, unauthorized
        token = header[7:].strip()
        if self.token_verifier is None:
            return None, None
        claims = self.token_verifier(token)
        if claims is None:
            return None, unauthorized
        audience = str(claims.get("aud", ""))
        if audience.rstrip("/") != (self.audience or "").rstrip("/"):
            return audience, unauthorized
        if self.authorized_clients is not None and claims.get("appid") not in self.authorized_clients:
            return audience, unauthorized
        return audience, None

    # ---- routes ----------------------------------------------------------------------------------

    async def _web_app(self, request: Request) -> Response:
        return HTMLResponse(WEB_APP_HTML)

    async def _software_global(self, request: Request) -> Response:
        return JSONResponse(self.shaper.rows("GetGlobalSoftwareResponse", self.data.global_software))

    async def _software_local(self, request: Request) -> Response:
        return JSONResponse(self.shaper.rows("GetLocalSoftwareResponse", self.data.local_software))

    async def _tenants(self, request: Request) -> Response:
        return JSONResponse(self.shaper.rows("GetTenantResponse", self.data.tenants))

    async def _computers_search(self, request: Request) -> Response:
        """`/computers`: `ComputerSearch` rows, capped at `pageSize` (default 25), no paging."""
        size = int(request.query_params.get("pageSize", 25))
        name = request.query_params.get("name", "").lower()
        rows = [c for c in self.data.computers if name in c["computerName"].lower()][:size]
        return JSONResponse([{"id": c["id"], "name": c["computerName"], "tenant": c["tenantName"],
                              "tenantId": c["tenantId"], "online": c["isOnline"], "excludeFromMaintenance": False}
                             for c in rows])  # fmt: skip

    def _matches(self, row: dict[str, Any], expression: Any) -> bool:
        if isinstance(expression, list) and len(expression) == 1:
            return self._matches(row, expression[0])
        if isinstance(expression, list) and len(expression) == 3 and expression[1] in ("and", "or"):
            left, right = self._matches(row, expression[0]), self._matches(row, expression[2])
            return (left and right) if expression[1] == "and" else (left or right)
        field, op, value = expression
        actual = row.get(field)
        if op == "contains":
            return str(value).lower() in str(actual or "").lower()
        if op == "=":
            if isinstance(actual, str) and isinstance(value, str) and self.dx_equals_ignores_case:
                return actual.lower() == value.lower()
            return actual == value
        raise ValueError(f"unsupported operator {op!r}")

    def _dx(self, request: Request, rows: list[dict[str, Any]], schema: str | None = None) -> Response:
        query = request.query_params
        try:
            if "filter" in query:
                expression = json.loads(query["filter"])
                rows = [row for row in rows if self._matches(row, expression)]
            skip, take = int(query.get("skip", 0)), int(query.get("take", len(rows) or 1))
        except (ValueError, TypeError, KeyError) as error:
            return JSONResponse({"error": {"code": "InternalServerError", "message": str(error)}}, status_code=500)
        total = len(rows) if query.get("requireTotalCount") == "true" else -1
        page = rows[skip : skip + take]
        page = self.shaper.rows(schema, page) if schema else [self.shaper.untyped(row) for row in page]
        body = {"data": page, "totalCount": total, "groupCount": -1, "summary": None}
        return JSONResponse(self.shaper.complete("LoadResult", body))

    async def _computers_dx(self, request: Request) -> Response:
        return self._dx(request, self.data.computers, "ComputerListViewModel")

    async def _computer(self, request: Request) -> Response:
        row = self._computer_row(request.path_params["computer_id"])
        if row is None:
            return JSONResponse({"error": {"code": "NotFound", "message": "Computer not found"}}, status_code=404)
        detail = {k: v for k, v in row.items() if not k.startswith("primaryUser")}
        if request.query_params.get("includePrimaryPerson") == "true":
            person = self.data.persons.get(row.get("primaryPersonId") or -1)
            detail["primaryPerson"] = person and self.shaper.complete(
                "GetPersonResponse", {**person, "displayName": f"{person['firstName']} {person['lastName']}"}
            )
        if request.query_params.get("includeSessions") == "true":
            sessions = self.store.for_computer(row["id"])
            detail["sessions"] = [s.payload(self.shaper) for s in sessions]
        return JSONResponse(self.shaper.complete("GetComputerResponse", detail))

    def _computer_row(self, computer_id: int) -> dict[str, Any] | None:
        if 0 < computer_id <= len(self.data.computers) and self.data.computers[computer_id - 1]["id"] == computer_id:
            return self.data.computers[computer_id - 1]
        return self.data.computer(computer_id)

    async def _run(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"errors": ["body is not JSON"]}, status_code=400)
        errors = self.body_validator(body) if self.body_validator else []
        errors += self._semantic_errors(body)
        if errors:
            self.invalid_bodies.append((body, errors))
            return JSONResponse({"title": "One or more validation errors occurred.", "errors": errors}, status_code=400)
        params = body["maintenanceParams"]
        catalog = (
            self.data.global_software if params["maintenanceType"] == "GlobalSoftware" else self.data.local_software
        )
        item = next(s for s in catalog if str(s["id"]) == str(params["maintenanceIdentifier"]))
        started, in_progress = [], []
        for target in body["computers"]:
            computer = self._computer_row(int(target["computerId"]))
            assert computer is not None
            active = self.store.active_for(computer["id"])
            if active is not None:
                in_progress.append({"sessionId": active.id, "computerId": computer["id"]})
                continue
            session = self.store.start(
                computer, {**body, "maintenanceParams": {**params, "_displayName": item["name"]}}
            )
            self.prepare_session(session, body)
            started.append({"sessionId": session.id, "computerId": computer["id"]})
        shaped = self.shaper.rows
        body = {"sessionsStarted": shaped("RunImmyServiceResponseSession", started),
                "sessionsAlreadyInProgress": shaped("RunImmyServiceResponseSession", in_progress)}  # fmt: skip
        return JSONResponse(self.shaper.complete("RunImmyServiceResponseBody", body))

    def _semantic_errors(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["body must be an object"]
        errors = schedule_errors(body)
        targets = body.get("computers") or []
        if not targets:
            errors.append("computers: at least one computer is required")
        for target in targets:
            if not isinstance(target, dict) or self._computer_row(int(target.get("computerId") or 0)) is None:
                errors.append(f"computers: unknown computer {target!r}")
        params = body.get("maintenanceParams") or {}
        kind = params.get("maintenanceType")
        if kind not in ("GlobalSoftware", "LocalSoftware"):
            errors.append(f"maintenanceParams.maintenanceType: {kind!r} is not a software type this fake supports")
            return errors
        catalog = self.data.global_software if kind == "GlobalSoftware" else self.data.local_software
        if not any(str(s["id"]) == str(params.get("maintenanceIdentifier")) for s in catalog):
            errors.append(f"maintenanceParams.maintenanceIdentifier: no {kind} {params.get('maintenanceIdentifier')!r}")
        return errors

    async def _session(self, request: Request) -> Response:
        session = self.store.sessions.get(request.path_params["session_id"])
        if session is None:
            return JSONResponse({"error": {"code": "NotFound", "message": "Session not found"}}, status_code=404)
        include = request.query_params.get("includeActions") == "true"
        payload = session.payload(self.shaper, include_actions=include)
        if not self.waiting(session):
            session.advance()  # the next read sees the next scripted status
        return JSONResponse(payload)

    async def _sessions_dx(self, request: Request) -> Response:
        computer_id = request.query_params.get("computerId")
        sessions = self.store.for_computer(int(computer_id)) if computer_id else list(self.store.sessions.values())
        return self._dx(request, [s.dx_row() for s in sessions])  # untyped rows (`LoadResult.data`)

    async def _cancel(self, request: Request) -> Response:
        session = self.store.sessions.get(request.path_params["session_id"])
        if session is None:
            return JSONResponse({"error": {"code": "NotFound", "message": "Session not found"}}, status_code=404)
        if not session.terminal:
            self.store.set_status(session.id, "Cancelled")
        return Response(status_code=200)

    async def _actions_dx(self, request: Request) -> Response:
        """A bare array (as the spec declares); an OR across sessions is a 500, as observed live."""
        raw = request.query_params.get("filter", "[]")
        if '"or"' in raw:
            return JSONResponse({"error": {"code": "NotSupportedException"}}, status_code=500)
        actions = [s.action() for s in self.store.sessions.values()]
        try:
            expression = json.loads(raw)
            rows = [a for a in actions if not expression or self._matches(a, expression)]
        except (ValueError, TypeError) as error:
            return JSONResponse({"error": {"code": "InternalServerError", "message": str(error)}}, status_code=500)
        return JSONResponse(self.shaper.rows("GetMaintenanceActionResponse", rows))
