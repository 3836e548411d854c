"""What ImmyBot's detection-only run says it would do, per computer (SPEC §8).

Pure domain: the ImmyBot adapter hands over plain per-computer `ActionFacts`; `computer_preview` turns them
into a `Verdict` (the one mapping); the approval card shows `summary_line` on top and the verdicts below.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Verdict(StrEnum):
    INSTALL = "install"
    UPDATE = "update"
    UNINSTALL = "uninstall"
    NOTHING = "nothing"  # already in the desired state
    OFFLINE = "offline"
    FAILED = "failed"  # detection failed (the reason says why)
    PENDING = "pending"  # no answer yet (the preview is still running, or gave up at 10 minutes)

    @property
    def words(self) -> str:
        return _WORDS[self]


_WORDS = {
    Verdict.INSTALL: "would install",
    Verdict.UPDATE: "would update",
    Verdict.UNINSTALL: "would uninstall",
    Verdict.NOTHING: "already up to date",
    Verdict.OFFLINE: "offline",
    Verdict.FAILED: "detection failed",
    Verdict.PENDING: "no answer yet",
}
# Problems first: what an approver must notice before deciding.
ORDER = (Verdict.FAILED, Verdict.OFFLINE, Verdict.PENDING, Verdict.UNINSTALL, Verdict.INSTALL, Verdict.UPDATE,
         Verdict.NOTHING)

# ImmyBot's actionType names (API.md "Action enums") → verdicts; Reinstall/Downgrade change the software too.
_ACTIONS = {
    "install": Verdict.INSTALL,
    "update": Verdict.UPDATE,
    "reinstall": Verdict.UPDATE,
    "downgrade": Verdict.UPDATE,
    "uninstall": Verdict.UNINSTALL,
    "noaction": Verdict.NOTHING,
    "no action": Verdict.NOTHING,
}
_OFFLINE_STATUSES = frozenset({"Missed", "PendingConnectivity"})
_FAILED_STATUSES = frozenset({"Failed", "Cancelled", "TimedOut"})
_DETECTING = frozenset({"NotStarted", "DeterminingAction", "Downloading", "WaitingForPrerequisite"})
_SESSION_DONE = frozenset({"Passed", "PartialPassed"})


class PreviewState(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    PARTIAL = "partial"  # gave up waiting (10 minutes): what is known
    UNAVAILABLE = "unavailable"  # could not start (ImmyBot unavailable): approving still works


class ComputerPreview(BaseModel):
    model_config = ConfigDict(frozen=True)

    computer_id: int | None
    computer_name: str
    verdict: Verdict
    detected_version: str | None = None
    desired_version: str | None = None
    reason: str | None = None  # why it could not tell (detection failed: ImmyBot's failure reason)


class Preview(BaseModel):
    """A request's preview as the approval card shows it."""

    model_config = ConfigDict(frozen=True)

    state: PreviewState
    computers: tuple[ComputerPreview, ...] = ()
    group_id: str | None = None  # the preview's own sessionGroupId (never the real run's)
    started_at: datetime | None = None  # when it was started (the 10-minute wait counts from here)

    def ordered(self) -> list[ComputerPreview]:
        """Problems first, then by what would change, then by name (stable for the card and the CSV)."""
        rank = {verdict: i for i, verdict in enumerate(ORDER)}
        return sorted(self.computers, key=lambda c: (rank[c.verdict], c.computer_name.lower(), c.computer_id or 0))


class ActionFacts(BaseModel):
    """What ImmyBot said about one computer in a detection-only session: the plain facts the ImmyBot adapter
    hands over (its `GetMaintenanceActionResponse` leaf row, names not numbers, and the session's status).

    No action row at all (the session ended before detection): `action_type` etc. stay None."""

    model_config = ConfigDict(frozen=True)

    computer_id: int | None
    computer_name: str
    session_status: str
    action_type: str | None = None  # Install, Update, NoAction, Undetermined, …
    action_status: str | None = None  # MaintenanceActionStatus: DeterminingAction, Complete, Skipped, …
    result: str | None = None  # MaintenanceActionResult: Pending, Success, Failed, Indeterminable, …
    reason: str | None = None  # MaintenanceActionReason: SoftwareMissing, UpToDate, DeviceOffline, …
    result_reason: str | None = None  # DetectionActionFailed, DeviceOffline, …
    message: str | None = None  # resultReasonMessage: ImmyBot's words for why
    detected_version: str | None = None
    desired_version: str | None = None
    computer_online: bool | None = None  # non-nullable in ImmyBot (false by default): alone it proves nothing


def verdict_for(facts: ActionFacts) -> Verdict:
    """The one mapping from ImmyBot's answer to a verdict, read in order of trust: offline, detection
    failed, the action decided (unless still detecting), the reason, then the session's status."""
    if "DeviceOffline" in (facts.reason, facts.result_reason) or facts.session_status in _OFFLINE_STATUSES:
        return Verdict.OFFLINE
    if facts.action_status == "Skipped" and facts.computer_online is False:
        return Verdict.OFFLINE
    if facts.result in ("Failed", "Indeterminable") or facts.result_reason == "DetectionActionFailed":
        return Verdict.FAILED
    action = (facts.action_type or "").strip().lower()
    if action in _ACTIONS:
        if facts.action_status in _DETECTING and _ACTIONS[action] is not Verdict.NOTHING:
            return Verdict.PENDING
        return _ACTIONS[action]
    if facts.reason == "UpToDate":
        return Verdict.NOTHING
    if facts.session_status in _FAILED_STATUSES:
        message = (facts.message or "").lower()
        return Verdict.OFFLINE if "offline" in message else Verdict.FAILED
    if facts.action_type is None:
        return Verdict.NOTHING if facts.session_status in _SESSION_DONE else Verdict.PENDING
    if action == "undetermined" and facts.action_status not in _DETECTING and facts.session_status in _SESSION_DONE:
        return Verdict.FAILED
    if action == "undetermined":
        return Verdict.PENDING
    return Verdict.FAILED if facts.session_status in _SESSION_DONE else Verdict.PENDING  # an action we do not know


def computer_preview(facts: ActionFacts) -> ComputerPreview:
    """One computer's line on the card: the verdict, versions, and why it could not tell."""
    verdict = verdict_for(facts)
    reason = None
    if verdict is Verdict.FAILED:
        reason = facts.message or facts.result_reason or facts.reason or "no reason given"
    elif verdict is Verdict.OFFLINE:
        reason = facts.message
    return ComputerPreview(computer_id=facts.computer_id, computer_name=facts.computer_name, verdict=verdict,
                           detected_version=facts.detected_version, desired_version=facts.desired_version,
                           reason=reason)


def counts(verdicts: Iterable[Verdict]) -> list[tuple[Verdict, int]]:
    """(verdict, how many) in `ORDER`'s sense but with changes first, skipping zeros."""
    counted = Counter(verdicts)
    shown = (Verdict.INSTALL, Verdict.UPDATE, Verdict.UNINSTALL, Verdict.NOTHING, Verdict.OFFLINE, Verdict.FAILED,
             Verdict.PENDING)
    return [(verdict, counted[verdict]) for verdict in shown if counted[verdict]]


def summary_line(computers: Iterable[ComputerPreview]) -> str:
    """`8 would install, 3 already up to date, 1 offline` (no computers: `no computers`)."""
    parts = [f"{n} {verdict.words}" for verdict, n in counts(c.verdict for c in computers)]
    return ", ".join(parts) or "no computers"
