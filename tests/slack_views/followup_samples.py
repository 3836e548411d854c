"""Deterministic schedules, previews, logs for the §6–§8 view tests."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.workflow.preview import ComputerPreview, Preview, PreviewState, Verdict
from bot.workflow.schedule import Schedule

SUBMITTED = datetime(2025, 3, 4, 13, 55, tzinfo=UTC)
AT_TIME = Schedule.at_time("18:30", "Europe/Berlin").pin(SUBMITTED)
NEXT_DAY = Schedule.at_time("07:00", "Europe/Berlin").pin(SUBMITTED)
NO_TZ = Schedule.at_time("18:30", None).pin(SUBMITTED)
AFTER_HOURS = Schedule.after_hours()

_VERDICTS = (Verdict.INSTALL, Verdict.UPDATE, Verdict.NOTHING, Verdict.OFFLINE, Verdict.FAILED, Verdict.UNINSTALL)


def preview_computer(i: int, verdict: Verdict, name: str | None = None) -> ComputerPreview:
    return ComputerPreview(
        computer_id=100 + i,
        computer_name=name or f"PC-ACME-{i:03d}",
        verdict=verdict,
        detected_version=None if verdict is Verdict.INSTALL else "19.00",
        desired_version="23.01",
        reason="Detection script threw: access denied <C:\\x> & more" if verdict is Verdict.FAILED else None,
    )


def preview(n: int = 4, state: PreviewState = PreviewState.FINISHED) -> Preview:
    return Preview(state=state, computers=tuple(preview_computer(i, _VERDICTS[i % len(_VERDICTS)]) for i in range(n)))


LOG = [
    "Starting detection for 7-Zip",
    "Detected version 19.00",
    "Running installer: msiexec /i 7z.msi <!channel> & ```done```",
    "Installer exited with 1603",
]
