"""Detection-only ("preview") sessions of the fake ImmyBot: what ImmyBot would do, per computer.

A session started with `detectionOnly: true` changes nothing; its one maintenance action says what
ImmyBot decided (`actionType`, `reason`), what it found (`detectedVersionString`) and wants
(`desiredVersionString`), or why it could not tell (`resultReason`, `resultReasonMessage`). Outcomes
are scripted per computer with `fake.script_detection(id, outcome, message=…)`; unscripted, an offline
computer is `offline` and an online one cycles install / up to date / update by its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OLD_VERSION = "119.0.6045.105"
NEW_VERSION = "124.0.6367.61"
DETECTION_FAILED = "Detection script failed: Get-Package : Access to the registry key is denied."
OFFLINE = "The computer is offline and the offline behavior is Skip."


@dataclass(frozen=True)
class Outcome:
    action: str  # MaintenanceActionType name
    reason: str  # MaintenanceActionReason name
    result: str  # MaintenanceActionResult name
    status: str  # MaintenanceActionStatus name
    detected: str | None
    desired: str | None
    session_status: str  # the session's final SessionStatus
    result_reason: str | None = None
    message: str | None = None
    online: bool = True


OUTCOMES: dict[str, Outcome] = {
    "would_install": Outcome("Install", "SoftwareMissing", "Pending", "PendingExecution", None, NEW_VERSION, "Passed"),
    "would_update": Outcome("Update", "UpdateAvailable", "Pending", "PendingExecution", OLD_VERSION, NEW_VERSION,
                            "Passed"),
    "would_uninstall": Outcome("Uninstall", "SoftwareDetected", "Pending", "PendingExecution", OLD_VERSION, None,
                               "Passed"),
    "up_to_date": Outcome("NoAction", "UpToDate", "Success", "Complete", NEW_VERSION, NEW_VERSION, "Passed"),
    "offline": Outcome("Undetermined", "DeviceOffline", "Indeterminable", "Skipped", None, NEW_VERSION, "Failed",
                       "DeviceOffline", OFFLINE, online=False),
    "failed": Outcome("Undetermined", "Undetermined", "Failed", "Complete", None, NEW_VERSION, "Failed",
                      "DetectionActionFailed", DETECTION_FAILED),
}  # fmt: skip
_CYCLE = ("would_install", "up_to_date", "would_update")
_STATUS_NUMBER = {"NotStarted": 0, "Complete": 4, "DeterminingAction": 6, "Skipped": 7, "PendingExecution": 8}


def default_outcome(computer: dict[str, Any], body: dict[str, Any]) -> str:
    if not computer.get("isOnline"):
        return "offline"
    if (body.get("maintenanceParams") or {}).get("desiredSoftwareState") == "NotPresent":
        return "would_uninstall" if computer["id"] % 2 else "up_to_date"
    return _CYCLE[computer["id"] % len(_CYCLE)]


def statuses(outcome: Outcome) -> list[str]:
    return ["Created", "Running", outcome.session_status]


def action_fields(outcome: Outcome, *, finished: bool, action_types: tuple[str, ...],
                  results: tuple[str, ...]) -> dict[str, Any]:  # fmt: skip
    """The action's fields over the fake's defaults: enums as integers where ImmyBot sends integers."""
    if not finished:
        action, status, result = "Undetermined", "DeterminingAction", "Pending"
        return {"actionType": action_types.index(action), "actionTypeName": action, "status": _STATUS_NUMBER[status],
                "statusName": status, "result": results.index(result), "resultName": result,
                "detectedVersionString": None, "resultReasonMessage": None, "reason": "Undetermined"}  # fmt: skip
    fields = {
        "actionType": action_types.index(outcome.action), "actionTypeName": outcome.action,
        "status": _STATUS_NUMBER[outcome.status], "statusName": outcome.status,
        "result": results.index(outcome.result), "resultName": outcome.result,
        "reason": outcome.reason, "resultReason": outcome.result_reason, "resultReasonMessage": outcome.message,
        "detectedVersionString": outcome.detected, "desiredVersionString": outcome.desired,
        "isComputerOnline": outcome.online,
    }  # fmt: skip
    if outcome.result_reason is None:  # not nullable in the schema: left to the serialiser's default
        del fields["resultReason"]
    return fields
