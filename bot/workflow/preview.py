"""What ImmyBot's detection-only run says it would do, per computer (SPEC §8).

Pure domain: the follower turns a preview session's result (ImmyBot's `actionTypeName`, session status,
failure reason) into a `Verdict`; the approval card shows `summary_line` on top and the verdicts below.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
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
    "undetermined": Verdict.FAILED,
}
_OFFLINE_STATUSES = frozenset({"Missed", "PendingConnectivity"})
_FAILED_STATUSES = frozenset({"Failed", "Cancelled", "TimedOut"})


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

    def ordered(self) -> list[ComputerPreview]:
        """Problems first, then by what would change, then by name (stable for the card and the CSV)."""
        rank = {verdict: i for i, verdict in enumerate(ORDER)}
        return sorted(self.computers, key=lambda c: (rank[c.verdict], c.computer_name.lower(), c.computer_id or 0))


def verdict_for(action: str | None, *, status: str, failure_reason: str | None = None) -> Verdict:
    """A preview session's verdict from its status and the action ImmyBot decided on."""
    if status in _OFFLINE_STATUSES:
        return Verdict.OFFLINE
    if failure_reason and "offline" in failure_reason.lower():
        return Verdict.OFFLINE
    if status in _FAILED_STATUSES:
        return Verdict.FAILED
    if action is None:
        return Verdict.PENDING if status not in {"Passed", "PartialPassed"} else Verdict.NOTHING
    return _ACTIONS.get(action.strip().lower(), Verdict.FAILED)


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
