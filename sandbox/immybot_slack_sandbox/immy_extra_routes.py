"""The fake ImmyBot's scheduled, detection-only and log behaviour (SPEC §7–§8), mixed into `FakeImmyBot`.

* `POST /api/v1/run-immy-service-new`: the same body as run-immy-service, started the same way, and
  answered as the document declares: 200 with NO body (no session ids; find them by sessionGroupId).
* Scheduled sessions (`updateTime`/`timeZoneInfoId`, `scheduleExecutionAfterActiveHours`) wait in
  Created/Pending until `clock.now()` reaches their time (`immy_schedule`).
* `detectionOnly` sessions report what ImmyBot would do per computer (`immy_preview`), scripted with
  `script_detection(computer_id, outcome, message=…)`.
* `GET /api/v1/maintenance-sessions/{id}/logs`: the session's log lines (`immy_logs`), every schema
  property present, carrying `SECRET_PARAMETER_VALUE` where ImmyBot would.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from immybot_slack_sandbox.immy_logs import session_log_rows
from immybot_slack_sandbox.immy_preview import OUTCOMES, action_fields, default_outcome, statuses
from immybot_slack_sandbox.immy_schedule import FakeClock, due_time
from immybot_slack_sandbox.immy_sessions import ACTION_RESULT, ACTION_TYPE, FakeSession, SessionStore
from immybot_slack_sandbox.immy_shapes import Shaper


class ExtraRoutes:
    store: SessionStore
    shaper: Shaper
    clock: FakeClock
    detections: dict[int, tuple[str, str | None]]

    async def _run(self, request: Request) -> Response:  # provided by FakeImmyBot
        raise NotImplementedError

    # ---- driving --------------------------------------------------------------------------------

    def script_detection(self, computer_id: int, outcome: str, message: str | None = None) -> None:
        """The next detection-only session on this computer ends with `outcome` (a key of `OUTCOMES`:
        would_install, would_update, would_uninstall, up_to_date, offline, failed); `message` replaces
        ImmyBot's reason text (`resultReasonMessage`) of an offline or failed detection."""
        if outcome not in OUTCOMES:
            raise ValueError(f"{outcome!r} is not one of {sorted(OUTCOMES)}")
        self.detections[computer_id] = (outcome, message)

    def waiting(self, session: FakeSession) -> bool:
        """A scheduled session before its time: it neither starts nor advances."""
        return session.due is not None and self.clock.now() < session.due

    def prepare_session(self, session: FakeSession, body: dict[str, Any]) -> None:
        """Make a just-started session detection-only and/or scheduled, as its request asks."""
        if body.get("detectionOnly"):
            name, message = self.detections.pop(session.computer["id"], None) or (
                default_outcome(session.computer, body), None)  # fmt: skip
            outcome = OUTCOMES[name]
            if message is not None:
                outcome = dataclasses.replace(outcome, message=message)
            session.statuses = statuses(outcome)
            session.overrides = lambda s: action_fields(outcome, finished=s.terminal, action_types=ACTION_TYPE,
                                                        results=ACTION_RESULT)  # fmt: skip
        scheduled = due_time(body, self.clock)
        if scheduled is not None:
            session.due, waiting_status = scheduled
            if session.statuses[0] != waiting_status:
                session.statuses.insert(0, waiting_status)

    # ---- routes ---------------------------------------------------------------------------------

    async def _run_new(self, request: Request) -> Response:
        """Same validation and sessions as run-immy-service; the answer is 200 with no body."""
        answer = await self._run(request)
        if answer.status_code != 200:
            return answer
        return Response(status_code=200)

    async def _logs(self, request: Request) -> Response:
        session = self.store.sessions.get(request.path_params["session_id"])
        if session is None:
            return JSONResponse({"error": {"code": "NotFound", "message": "Session not found"}}, status_code=404)
        params = session.body.get("maintenanceParams") or {}
        rows = session_log_rows(
            session_id=session.id, action_id=session.action_id, created=session.created,
            display_name=params.get("_displayName", "Software"), status=session.status, terminal=session.terminal,
            failed=session.status == "Failed", failure_message=session.failure_message,
        )  # fmt: skip
        return JSONResponse(self.shaper.rows("GetMaintenanceSessionLogResponse", rows))
