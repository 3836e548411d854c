"""`ImmyBotClient`: the async ImmyBot REST client the bot uses (API.md §2–§5).

    async with ImmyBotClient(settings) as immy:
        software = await immy.list_software(Catalog.GLOBAL)
        result = await immy.run_immy_service(computer_ids=[12], software=item, action=DesiredState.LATEST,
                                             options=RunOptions(), session_group_id=str(uuid4()))

Method names are stable: the domain depends on a Protocol with them. Errors are the
`bot.immybot.errors` hierarchy; see `transport.py` for retries (and why `run_immy_service` is not
resent after a 5xx).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
from pydantic import TypeAdapter

from bot.config import Settings
from bot.immybot.auth import EntraAuth, TokenProvider
from bot.immybot.models import (
    ComputerDetail,
    ComputerRow,
    MaintenanceAction,
    MaintenanceSession,
    RunResult,
    SoftwareItem,
    SoftwarePayload,
    Tenant,
)
from bot.immybot.run_body import run_body
from bot.immybot.session_logs import LogLine, last_lines, only_messages
from bot.immybot.tolerant import Rows, parse, skipped, with_id
from bot.immybot.transport import DEFAULT_TIMEOUT, ImmyBotHttp, RetryPolicy
from bot.workflow.model import Catalog, DesiredState, RunOptions, Software
from bot.workflow.schedule import Schedule

log = logging.getLogger(__name__)

DX_PAGE_SIZE = 500
DX_CONCURRENCY = 8  # dx pages in flight during a full listing (API.md §6.2: no documented rate limit; be modest)
MAX_DX_PAGES = 2000  # 1,000,000 computers: a server that ignores `skip` cannot loop us forever
# Lists are read row by row when needed: one unusable row is skipped and counted (`tolerant.Rows`).
_SOFTWARE = Rows[SoftwarePayload](SoftwarePayload, usable=lambda row: row.id is not None)
_ROWS = Rows[ComputerRow](ComputerRow)
_ACTIONS = Rows[MaintenanceAction](MaintenanceAction)
_SESSIONS = Rows[MaintenanceSession](MaintenanceSession)
_TENANTS = Rows[Tenant](Tenant)
_LOG_LINES = Rows[LogLine](LogLine)
# Built once: a TypeAdapter per call cost more than the validation itself (~0.15 ms per poll).
_COMPUTER = TypeAdapter(ComputerDetail)
_RUN_RESULT = TypeAdapter(RunResult)
_SESSION = TypeAdapter(MaintenanceSession)


_parse = parse


def _software_items(data: Any, catalog: Catalog, route: str) -> list[SoftwareItem]:
    # `name` is nullable (SPEC §5): a nameless item stays requestable, under a label that says so
    return [
        SoftwareItem(id=row.id, name=row.name or f"(unnamed, id {row.id})", catalog=catalog)
        for row in _parse(_SOFTWARE, data, route)
    ]


def _dx_rows(data: Any) -> Any:
    """DevExtreme `LoadResult` `{data: […]}` (`data` is nullable), or a bare array."""
    if isinstance(data, dict):
        return data.get("data") or []
    return data if data is not None else []


class ImmyBotClient:
    """Async ImmyBot client around one shared `httpx.AsyncClient`; `async with` or `aclose()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        dx_page_size: int = DX_PAGE_SIZE,
        dx_concurrency: int = DX_CONCURRENCY,
    ) -> None:
        self.settings = settings
        self.base_url = settings.base_url
        self.tokens = TokenProvider(settings)
        self.dx_page_size = dx_page_size
        self.dx_concurrency = max(1, dx_concurrency)
        self._http = ImmyBotHttp(
            settings.base_url, EntraAuth(self.tokens), retry=retry, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> ImmyBotClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        self.tokens.close()

    async def token(self) -> str:
        """Mint (or reuse) the access token: the doctor's and /healthz's probe. Never log it."""
        return await self.tokens.token()

    # ---- catalog reads -----------------------------------------------------------------------

    async def list_software(self, catalog: Catalog) -> list[SoftwareItem]:
        path = f"/api/v1/software/{catalog.value.lower()}"
        route = f"GET {path}"
        # Parsed as it arrives (20,000 items are 30 MB of JSON), then checked off the event loop (~50 ms).
        data = await self._http.request("GET", path, stream=lambda chunks: _SOFTWARE.from_stream(chunks, route))
        return await asyncio.to_thread(_software_items, data, catalog, route)

    async def list_computers(self, *, filter: list[Any] | None = None) -> list[ComputerRow]:
        """Every computer (or those matching a DevExtreme `filter`) via `/computers/dx` paging, each id once.

        Never `/api/v1/computers`: it caps at 25 rows and has no paging (API.md §3.1).
        """
        rows: list[ComputerRow] = []
        seen: set[int] = set()
        async for page in self.computer_pages(filter=filter):
            for row in page:
                if row.id not in seen:  # offset paging over a changing fleet can repeat a row
                    seen.add(row.id)
                    rows.append(row)
        return rows

    async def computer_pages(self, *, filter: list[Any] | None = None) -> AsyncIterator[list[ComputerRow]]:
        """The `/computers/dx` pages in order, fetched ahead: up to `dx_concurrency` requests in flight.

        No `requireTotalCount` (expensive, API.md §6.3): pages are asked for ahead and the first short
        page is the last; requests already sent for pages after it are cancelled. The first page goes
        alone (a small fleet or a filtered query costs one request); the window opens once it is full.
        Filtered queries (a handful of rows) page one at a time. A page that still fails after the
        transport's retries fails the listing; nothing after it is yielded.
        """
        path, take = "/api/v1/computers/dx", self.dx_page_size

        async def fetch(page: int) -> tuple[list[ComputerRow], int]:
            params: dict[str, Any] = {"skip": page * take, "take": take}
            if filter is not None:
                params["filter"] = json.dumps(filter)
            page_rows = _dx_rows(await self._http.request("GET", path, params=params, decode=_ROWS.json_loads))
            # the page's length as sent: a skipped unusable row does not end the paging
            return _parse(_ROWS, page_rows, f"GET {path}"), len(page_rows)

        pending: dict[int, asyncio.Task[tuple[list[ComputerRow], int]]] = {}
        window, asked, first_ids = 1, 0, set[int]()
        try:
            for page in range(MAX_DX_PAGES):
                while asked < MAX_DX_PAGES and len(pending) < window:
                    pending[asked] = asyncio.create_task(fetch(asked), name=f"dx-page-{asked}")
                    asked += 1
                batch, sent = await pending.pop(page)
                if batch and batch[0].id in first_ids:
                    log.warning("immybot dx paging repeats a page; stopping",
                                extra={"route": path, "skip": page * take})
                    return
                if batch:
                    first_ids.add(batch[0].id)
                yield batch
                if sent < take:
                    return
                window = 1 if filter is not None else self.dx_concurrency
        finally:
            for task in pending.values():
                task.cancel()
            await asyncio.gather(*pending.values(), return_exceptions=True)

    async def computers_for_email(
        self, email: str, *, fallback: Iterable[ComputerRow] | None = None
    ) -> list[ComputerRow]:
        """Computers whose primary user email is `email`, compared case-insensitively.

        Asks ImmyBot with the dx filter `["primaryUserEmail","=",email]` (all pages) and confirms
        each row client-side; when that finds nothing (the server's `=` may be case-sensitive),
        compares `fallback` rows (the cached catalog) instead. `Catalog.computers_for_email` wires it.
        """
        wanted = email.strip().casefold()
        rows = await self.list_computers(filter=["primaryUserEmail", "=", email.strip()])
        found = [r for r in rows if (r.primary_user_email or "").strip().casefold() == wanted]
        if not found and fallback is not None:
            found = [r for r in fallback if (r.primary_user_email or "").strip().casefold() == wanted]
        return found

    async def get_computer(self, computer_id: int, *, include_primary_person: bool = True,
                           include_sessions: bool = False) -> ComputerDetail:
        """One computer; ImmyBot sends its person and its sessions only when asked (`sessions` is null
        otherwise, which reads as none)."""
        path = f"/api/v1/computers/{int(computer_id)}"
        params = {"includePrimaryPerson": "true"} if include_primary_person else {}
        if include_sessions:
            params["includeSessions"] = "true"
        data = await self._http.request("GET", path, params=params or None)
        return _parse(_COMPUTER, with_id(data, int(computer_id)), f"GET {path}")

    async def tenants(self) -> list[Tenant]:
        path = "/api/v1/tenants"
        return _parse(_TENANTS, await self._http.request("GET", path), f"GET {path}")

    # ---- sessions ----------------------------------------------------------------------------

    async def run_immy_service(
        self,
        *,
        computer_ids: Iterable[int],
        software: Software,
        action: DesiredState,
        options: RunOptions,
        session_group_id: str,
        schedule: Schedule | None = None,
    ) -> RunResult:
        """`POST /api/v1/run-immy-service` once. Resent only on 429 or a refused connection.

        After `ImmyUnavailable` the sessions may or may not exist: call `find_sessions(computer_id,
        session_group_id)` before trying again with the SAME `session_group_id`. A timed `schedule`
        goes through `run_immy_service_new` (API.md §4.3); after-active-hours may come here.
        """
        if schedule is not None and schedule.uses_run_new:
            raise ValueError("a run at a clock time goes through run_immy_service_new")
        path = "/api/v1/run-immy-service"
        body = run_body(
            computer_ids=computer_ids,
            software=software,
            action=action,
            options=options,
            session_group_id=session_group_id,
            schedule=schedule,
        )
        data = await self._http.request("POST", path, json_body=body, idempotent=False)
        result: RunResult = _parse(_RUN_RESULT, data or {}, f"POST {path}")
        unusable = [s for s in (*result.started, *result.already_in_progress) if s.session_id is None]
        if unusable:  # a started session without its id cannot be followed; the rest can
            skipped(f"POST {path}", len(unusable), "a session without sessionId")
            result = result.model_copy(update={
                "started": [s for s in result.started if s.session_id is not None],
                "already_in_progress": [s for s in result.already_in_progress if s.session_id is not None],
            })  # fmt: skip
        return result

    async def run_immy_service_new(
        self,
        *,
        computer_ids: Iterable[int],
        software: Software,
        action: DesiredState,
        options: RunOptions,
        session_group_id: str,
        schedule: Schedule | None = None,
    ) -> None:
        """`POST /api/v1/run-immy-service-new` once: the same body, an answer WITHOUT session ids (200, or
        202, with no body; a body, if any, is ignored). Find the sessions with `find_group_sessions`;
        after `ImmyUnavailable` look them up the same way before resending the SAME `session_group_id`."""
        body = run_body(computer_ids=computer_ids, software=software, action=action, options=options,
                        session_group_id=session_group_id, schedule=schedule)  # fmt: skip
        await self._http.request("POST", "/api/v1/run-immy-service-new", json_body=body, idempotent=False)

    async def find_group_sessions(
        self, computer_ids: Iterable[int], session_group_id: str, *, newest: int = 10
    ) -> dict[int, list[MaintenanceSession]]:
        """Each computer's sessions of `session_group_id` (`find_sessions`, a few computers at a time);
        a computer ImmyBot has not created its session for yet maps to `[]`: ask again later."""
        ids = list(dict.fromkeys(int(cid) for cid in computer_ids))
        gate = asyncio.Semaphore(self.dx_concurrency)

        async def one(computer_id: int) -> list[MaintenanceSession]:
            async with gate:
                return await self.find_sessions(computer_id, session_group_id, newest=newest)

        found = await asyncio.gather(*(one(cid) for cid in ids))
        return dict(zip(ids, found, strict=True))

    async def session_log_lines(self, session_id: int, *, last: int = 30) -> list[LogLine]:
        """The `last` newest lines of the session's log (oldest first): time, level and message only,
        parameter values masked (`session_logs`). The route has no paging: ImmyBot sends the whole log."""
        path = f"/api/v1/maintenance-sessions/{int(session_id)}/logs"
        data = await self._http.request("GET", path)
        return last_lines(_parse(_LOG_LINES, only_messages(data), f"GET {path}"), last)

    async def get_session(self, session_id: int, *, include_actions: bool = False) -> MaintenanceSession:
        path = f"/api/v1/maintenance-sessions/{int(session_id)}"
        params = {"includeActions": "true"} if include_actions else None
        data = await self._http.request("GET", path, params=params)
        return _parse(_SESSION, with_id(data, int(session_id)), f"GET {path}")

    async def session_actions(self, session_id: int) -> list[MaintenanceAction]:
        """The session's maintenance actions: one dx call per session (an OR across sessions is a 500)."""
        path = "/api/v1/maintenance-actions/dx"
        params = {
            "filter": json.dumps([["maintenanceSessionId", "=", int(session_id)]]),
            "skip": 0,
            "take": 500,
            "requireTotalCount": "false",
        }
        data = await self._http.request("GET", path, params=params)
        return _parse(_ACTIONS, _dx_rows(data), f"GET {path}")

    async def find_sessions(
        self, computer_id: int, session_group_id: str, *, newest: int = 10
    ) -> list[MaintenanceSession]:
        """The computer's sessions created with `session_group_id`, newest first.

        Reads `/maintenance-sessions/dx?computerId=` sorted by newest `createdDate`; rows that lack
        `sessionJobArgs.sessionGroupId` are fetched by id (only the `newest` rows are examined).
        """
        path = "/api/v1/maintenance-sessions/dx"
        params = {
            "computerId": int(computer_id),
            "sort": json.dumps([{"selector": "createdDate", "desc": True}]),
            "skip": 0,
            "take": newest,
        }
        rows = _parse(_SESSIONS, _dx_rows(await self._http.request("GET", path, params=params)), f"GET {path}")
        wanted = session_group_id.lower()
        found: list[MaintenanceSession] = []
        for row in rows[:newest]:
            session = row if row.session_group_id is not None else await self.get_session(row.id)
            if (session.session_group_id or "").lower() == wanted:
                found.append(session)
        return found

    async def cancel_session(self, session_id: int) -> None:
        """`GET /api/v1/maintenance-sessions/{id}/cancel` (ImmyBot made it a GET)."""
        await self._http.request("GET", f"/api/v1/maintenance-sessions/{int(session_id)}/cancel")
