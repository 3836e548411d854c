"""Maintenance sessions of the fake ImmyBot: started by run-immy-service, advanced by being read.

A session walks a list of statuses, one step per `GET /maintenance-sessions/{id}`. The default
walk is Created → Running → Passed for an online computer; an offline one is Failed (Skip) or
waits in PendingConnectivity (ApplyOnConnect). `script_computer(id, [...])` sets the walk of the
next session started on that computer; `set_status(id, status)` jumps directly.
Each session carries one maintenance action for the requested software; it resolves when the
session reaches a terminal status (Success, or Failed with a `resultReasonMessage`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from immybot_slack_sandbox.immy_schema import ENUMS
from immybot_slack_sandbox.immy_shapes import Shaper

# From ImmyBot's enums (openapi.json), never from the bot's own models: a fake answers by the contract.
SESSION_STATUS = tuple(pair.split("=")[0] for pair in ENUMS["SessionStatus"].split())
ACTION_TYPE = tuple(pair.split("=")[0] for pair in ENUMS["MaintenanceActionType"].split())
ACTION_RESULT = tuple(pair.split("=")[0] for pair in ENUMS["MaintenanceActionResult"].split())
# ImmyBot's finished statuses (API.md §5.3): the session will not change any more.
TERMINAL_SESSION_STATUSES = frozenset({
    "Passed", "Failed", "Cancelled", "PartialPassed", "Missed", "MaxTrackedDevicesPerMonthExceeded",
    "MaintenanceForTrackableDevicesNotAllowed",
})  # fmt: skip

FAILURE_MESSAGE = "The installer exited with code 1603 (fatal error during installation)."
_ACTION_FOR_STATE = {"NotPresent": "Uninstall", "UpdateIfFound": "Update"}
_START = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


@dataclass
class Script:
    statuses: list[str]
    failure_message: str = FAILURE_MESSAGE


@dataclass
class FakeSession:
    id: int
    computer: dict[str, Any]
    body: dict[str, Any]
    statuses: list[str]
    failure_message: str
    created: datetime
    step: int = 0
    action_id: int = 0
    updated: datetime | None = None
    due: datetime | None = None  # a scheduled session waits until then (`immy_schedule`)
    overrides: Callable[[FakeSession], dict[str, Any]] | None = None  # a detection-only action (`immy_preview`)

    @property
    def status(self) -> str:
        return self.statuses[min(self.step, len(self.statuses) - 1)]

    @property
    def status_value(self) -> int:
        """The status as ImmyBot's integer; a script may name a value newer than the enum as `"#99"`."""
        status = self.status
        return int(status[1:]) if status.startswith("#") else SESSION_STATUS.index(status)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_SESSION_STATUSES

    @property
    def group_id(self) -> str | None:
        return self.body.get("sessionGroupId")

    def advance(self) -> None:
        if self.step < len(self.statuses) - 1:
            self.step += 1
            self.updated = self.created + timedelta(seconds=5 * self.step)

    def action(self) -> dict[str, Any]:
        params = self.body.get("maintenanceParams") or {}
        state = params.get("desiredSoftwareState", "LatestVersion")
        action = _ACTION_FOR_STATE.get(state, "Install")
        result = "Pending"
        if self.terminal:
            result = "Success" if self.status in ("Passed", "PartialPassed") else "Failed"
            result = "Cancelled" if self.status == "Cancelled" else result
        detected = None if action == "Install" else "119.0.6045.105"
        row = {
            "id": self.action_id,
            "parentId": None,
            "maintenanceSessionId": self.id,
            "computerId": self.computer["id"],
            "computerName": self.computer["computerName"],
            "tenantId": self.computer["tenantId"],
            "tenantName": self.computer["tenantName"],
            "maintenanceType": 0 if params.get("maintenanceType") == "GlobalSoftware" else 1,  # integer…
            "maintenanceTypeName": params.get("maintenanceType"),  # …and its name, like ImmyBot
            "maintenanceIdentifier": params.get("maintenanceIdentifier"),
            "maintenanceDisplayName": params.get("_displayName", "Software"),
            "actionType": ACTION_TYPE.index(action),
            "actionTypeName": action,
            "result": ACTION_RESULT.index(result),
            "resultName": result,
            "status": 4 if self.terminal else 2,
            "statusName": "Complete" if self.terminal else "PerformingAction",
            "desiredSoftwareState": state,
            "detectedVersionString": detected,
            "desiredVersionString": None if action == "Uninstall" else "124.0.6367.61",
            "resultReasonMessage": self.failure_message if result == "Failed" else None,
        }
        return {**row, **self.overrides(self)} if self.overrides else row

    def payload(self, shaper: Shaper | None = None, *, include_actions: bool = False) -> dict[str, Any]:
        """`GetMaintenanceSessionResponse`: status as an INTEGER, job args echo the request."""
        body = self.body
        data: dict[str, Any] = {
            "id": self.id,
            "jobId": f"job-{self.id}",
            "computerId": self.computer["id"],
            "computerName": self.computer["computerName"],
            "tenantId": self.computer["tenantId"],
            "tenantName": self.computer["tenantName"],
            "sessionStatus": self.status_value,
            "fullMaintenance": False,
            "onboarding": False,
            "createdDateUTC": self.created.isoformat(),
            "updatedDateUTC": (self.updated or self.created).isoformat(),
            "createdBy": "immybot-slack (API)",
            "scheduledExecutionDate": self.due.isoformat() if self.due else None,
            "sessionJobArgs": {
                "sessionGroupId": self.group_id,
                "computerId": self.computer["id"],
                "rebootPreference": body.get("rebootPreference"),
                "offlineBehavior": body.get("offlineBehavior"),
                "detectionOnly": body.get("detectionOnly", False),
                "suppressRebootsDuringBusinessHours": body.get("suppressRebootsDuringBusinessHours"),
            },
        }
        shaper = shaper or Shaper()
        # a field the request left out echoes ImmyBot's default, never null (they are not nullable)
        job_args = {key: value for key, value in data["sessionJobArgs"].items() if value is not None}
        data["sessionJobArgs"] = shaper.complete("SessionJobArgs", job_args)
        # Without includeActions ImmyBot sends `"maintenanceActions": null` (every property is serialised).
        actions = [shaper.complete("GetMaintenanceActionResponse", self.action())] if include_actions else None
        return shaper.complete("GetMaintenanceSessionResponse", {**data, "maintenanceActions": actions})

    def dx_row(self) -> dict[str, Any]:
        """A `/maintenance-sessions/dx` row: status NAME and integer, no `sessionJobArgs`."""
        return {
            "id": self.id,
            "statusName": None if self.status.startswith("#") else self.status,
            "sessionStatus": self.status_value,
            "computerId": self.computer["id"],
            "computerName": self.computer["computerName"],
            "tenantId": self.computer["tenantId"],
            "tenantName": self.computer["tenantName"],
            "createdDate": self.created.isoformat(),
            "updatedDate": (self.updated or self.created).isoformat(),
            "fullMaintenance": False,
            "scheduledExecutionDate": self.due.isoformat() if self.due else None,
        }


@dataclass
class SessionStore:
    sessions: dict[int, FakeSession] = field(default_factory=dict)
    scripts: dict[int, Script] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    _action_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(50001))

    def active_for(self, computer_id: int) -> FakeSession | None:
        return next(
            (s for s in self.sessions.values() if s.computer["id"] == computer_id and not s.terminal),
            None,
        )

    def start(self, computer: dict[str, Any], body: dict[str, Any]) -> FakeSession:
        # a detection-only session walks its own outcome (`immy_preview`): the script waits for the real run
        script = None if body.get("detectionOnly") else self.scripts.pop(computer["id"], None)
        if script is None:
            if computer.get("isOnline"):
                script = Script(["Created", "Running", "Passed"])
            elif body.get("offlineBehavior") == "ApplyOnConnect":
                script = Script(["Created", "PendingConnectivity"])
            else:
                script = Script(["Created", "Failed"], "The computer is offline and the offline behavior is Skip.")
        sid = next(self._ids)
        session = FakeSession(
            id=sid,
            computer=computer,
            body=body,
            statuses=list(script.statuses),
            failure_message=script.failure_message,
            created=_START + timedelta(minutes=sid - 1000),
            action_id=next(self._action_ids),
        )
        self.sessions[sid] = session
        return session

    def for_computer(self, computer_id: int) -> list[FakeSession]:
        rows = [s for s in self.sessions.values() if s.computer["id"] == computer_id]
        return sorted(rows, key=lambda s: s.created, reverse=True)

    def set_status(self, session_id: int, status: str) -> None:
        if status not in SESSION_STATUS:
            raise ValueError(f"{status!r} is not a SessionStatus name")
        session = self.sessions[session_id]
        session.statuses = [*session.statuses[: session.step + 1], status]
        session.step = len(session.statuses) - 1
