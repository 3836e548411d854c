"""The `run-immy-service` request body (`RunImmyServiceRequestBody`, API.md §4): what a run asks of
ImmyBot, every property explicit, string enums only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.workflow.model import DesiredState, RebootPreference, RunOptions, Software
from bot.workflow.schedule import Schedule


def run_body(
    *,
    computer_ids: Iterable[int],
    software: Software,
    action: DesiredState,
    options: RunOptions,
    session_group_id: str,
    schedule: Schedule | None = None,
) -> dict[str, Any]:
    """The `RunImmyServiceRequestBody` for one software item, string enums only.

    `suppressRebootsDuringBusinessHours` is true unless the technician chose Force: ImmyBot lets
    that flag silently override a Force reboot (API.md §8), and Force is an explicit choice.
    End-user emails are off: the bot reports in Slack. `schedule` (default: now) sets when it runs.
    """
    return {
        "computers": [{"computerId": int(cid)} for cid in computer_ids],
        "maintenanceParams": {
            "maintenanceIdentifier": str(software.id),
            "maintenanceType": software.catalog.maintenance_type,
            "desiredSoftwareState": action.value,
            "repair": False,
        },
        "fullMaintenance": False,
        "detectionOnly": options.preview,
        "resolutionOnly": False,
        "inventoryOnly": False,
        "cacheOnly": False,
        "useWinningDeployment": False,
        "rebootPreference": options.reboot.value,
        "suppressRebootsDuringBusinessHours": options.reboot is not RebootPreference.FORCE,
        "offlineBehavior": options.offline.value,
        "sendDetectionEmail": False,
        "sendDetectionEmailWhenAllActionsAreCompliant": False,
        "sendFollowUpEmail": False,
        "sendFollowUpOnlyIfActionNeeded": False,
        "skipBackgroundJob": False,
        "sessionGroupId": session_group_id,
        **schedule_fields(schedule or Schedule.now()),
    }


def schedule_fields(schedule: Schedule) -> dict[str, Any]:
    """Every schedule property of the body, explicitly (ImmyBot's defaults are not ours to guess): the
    domain's `run_fields` on top of "now" in ImmyBot's time zone handling."""
    return {
        "updateTime": None,
        "timeZoneInfoId": None,
        "useComputersTimezoneForExecution": False,
        "scheduleExecutionAfterActiveHours": False,
        **schedule.run_fields(),
    }
