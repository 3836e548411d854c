"""What a detection-only session's actions say ImmyBot would do (SPEC §8), per computer.

ImmyBot documents no "preview result" object: a detection-only session has the same
`GetMaintenanceActionResponse` rows as a real run, with `actionType` (what it decided), `reason`
(why: SoftwareMissing, UpToDate, DeviceOffline, …), `result`/`resultReason`/`resultReasonMessage`
(whether detection worked) and detected/desired version strings. `verdict(action)` reads them in
that order of trust; `summarize` counts verdicts for "8 would install, 3 already up to date, 1 offline".
`isComputerOnline` is a non-nullable boolean (false by default), so alone it proves nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.immybot.models import MaintenanceAction


class Verdict(StrEnum):
    INSTALL = "install"
    UPDATE = "update"
    UNINSTALL = "uninstall"
    REINSTALL = "reinstall"
    DOWNGRADE = "downgrade"
    NOTHING = "nothing"  # already in the desired state
    OFFLINE = "offline"
    FAILED = "failed"  # detection failed (reason in `why`)
    PENDING = "pending"  # detection has not finished


_BY_ACTION = {"Install": Verdict.INSTALL, "Update": Verdict.UPDATE, "Uninstall": Verdict.UNINSTALL,
              "Reinstall": Verdict.REINSTALL, "Downgrade": Verdict.DOWNGRADE, "NoAction": Verdict.NOTHING}  # fmt: skip
_DETECTING = {"NotStarted", "DeterminingAction", "Downloading", "WaitingForPrerequisite"}


class ComputerVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    computer_id: int | None
    computer_name: str | None
    verdict: Verdict
    detected_version: str | None = None
    desired_version: str | None = None
    why: str | None = None  # ImmyBot's reason text when it could not tell


def verdict(action: MaintenanceAction) -> Verdict:
    if "DeviceOffline" in (action.reason, action.result_reason):
        return Verdict.OFFLINE
    if action.status == "Skipped" and action.computer_online is False:
        return Verdict.OFFLINE
    if action.result in ("Failed", "Indeterminable") or action.result_reason == "DetectionActionFailed":
        return Verdict.FAILED
    if action.action_type in _BY_ACTION:
        if action.status in _DETECTING and action.action_type != "NoAction":
            return Verdict.PENDING
        return _BY_ACTION[action.action_type]
    if action.reason == "UpToDate":
        return Verdict.NOTHING
    if action.action_type == "Undetermined" and action.status == "Complete":
        return Verdict.FAILED
    return Verdict.PENDING


def _why(action: MaintenanceAction, kind: Verdict) -> str | None:
    if kind is Verdict.FAILED:
        return action.result_reason_message or action.result_reason or action.reason or "no reason given"
    if kind is Verdict.OFFLINE:
        return action.result_reason_message
    return None


def computer_verdicts(actions: Iterable[MaintenanceAction]) -> list[ComputerVerdict]:
    """One verdict per action that is not a parent roll-up row (API.md §5.4: credit children and standalones)."""
    rows = list(actions)
    parents = {a.parent_id for a in rows if a.parent_id is not None and a.parent_id != a.id}  # never its own parent
    out = []
    for action in rows:
        if action.id is not None and action.id in parents:
            continue
        kind = verdict(action)
        out.append(ComputerVerdict(
            computer_id=action.computer_id, computer_name=action.computer_name, verdict=kind,
            detected_version=action.detected_version, desired_version=action.desired_version,
            why=_why(action, kind),
        ))  # fmt: skip
    return out


def summarize(verdicts: Iterable[ComputerVerdict]) -> Counter[Verdict]:
    """How many computers got each verdict (the card's summary line is built from this)."""
    return Counter(v.verdict for v in verdicts)
