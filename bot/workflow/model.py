"""The request domain: plain values shared by the store, the Slack adapter and the follower.

Nothing here knows about Slack payloads or HTTP. Slack message references are kept as opaque
(channel, ts) pairs because the request must remember where its cards are across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.workflow.preview import Preview
from bot.workflow.schedule import Schedule


class Catalog(StrEnum):
    GLOBAL = "Global"
    LOCAL = "Local"

    @property
    def maintenance_type(self) -> str:
        """ImmyBot's `maintenanceType` for an item of this catalog (ids overlap between the two)."""
        return "GlobalSoftware" if self is Catalog.GLOBAL else "LocalSoftware"


class DesiredState(StrEnum):
    """The `desiredSoftwareState` values a technician may choose, by their ImmyBot names."""

    LATEST = "LatestVersion"
    ANY = "AnyVersion"
    UPDATE_IF_FOUND = "UpdateIfFound"
    NOT_PRESENT = "NotPresent"

    @property
    def label(self) -> str:
        return _DESIRED_LABELS[self]


_DESIRED_LABELS = {
    DesiredState.LATEST: "Install or update to latest",
    DesiredState.ANY: "Ensure installed (any version)",
    DesiredState.UPDATE_IF_FOUND: "Update only if installed",
    DesiredState.NOT_PRESENT: "Uninstall",
}


class RebootPreference(StrEnum):
    SUPPRESS = "Suppress"
    NORMAL = "Normal"
    FORCE = "Force"


class OfflineBehavior(StrEnum):
    SKIP = "Skip"
    APPLY_ON_CONNECT = "ApplyOnConnect"


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    STARTING = "starting"
    RUNNING = "running"
    FINISHED = "finished"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (RequestState.PENDING, RequestState.APPROVED, RequestState.STARTING, RequestState.RUNNING)


class Outcome(StrEnum):
    """How a finished request ended (SPEC §4 `request.finished` outcome)."""

    PASSED = "passed"
    FAILED = "failed"
    PARTIAL = "partial"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


# ImmyBot SessionStatus names (API.md §5.3).
TERMINAL_SESSION_STATUSES = frozenset(
    {
        "Passed",
        "Failed",
        "Cancelled",
        "PartialPassed",
        "Missed",
        "MaxTrackedDevicesPerMonthExceeded",
        "MaintenanceForTrackableDevicesNotAllowed",
    }
)
WAITING_SESSION_STATUSES = frozenset(
    {"Created", "Pending", "PendingConnectivity", "Postponed", "PendingPreflight", "PendingEphemeralAgentConnection"}
)
TIMED_OUT = "TimedOut"  # our own status for a session not terminal after SESSION_MAX_WAIT_HOURS


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Software(_Value):
    id: int
    name: str
    catalog: Catalog

    @property
    def key(self) -> str:
        """Stable option value: catalog and id (`Global:714`)."""
        return software_key(self.catalog, self.id)


def software_key(catalog: Catalog, software_id: int) -> str:
    """The option value and cache key of a catalog item: `Global:714` (global and local ids overlap)."""
    return f"{catalog.value}:{software_id}"


class Computer(_Value):
    id: int
    name: str
    tenant_id: int | None = None  # the ImmyBot tenant: what the policy's scopes and rules look at
    tenant_name: str | None = None


class Targets(_Value):
    """What the request touches: resolved computers, plus the person/email they came from, if any."""

    computers: tuple[Computer, ...]
    email: str | None = None
    person: str | None = None  # Slack user ID whose profile email was used

    @property
    def computer_ids(self) -> tuple[int, ...]:
        return tuple(c.id for c in self.computers)

    def audit_list(self) -> list[dict[str, object]]:
        """SPEC §4 `targets`: the computers, plus `{"email"}` when a person or email was given."""
        rows: list[dict[str, object]] = [{"id": c.id, "name": c.name} for c in self.computers]
        if self.email:
            rows.append({"email": self.email})
        return rows


class RunOptions(_Value):
    reboot: RebootPreference = RebootPreference.SUPPRESS
    offline: OfflineBehavior = OfflineBehavior.SKIP
    preview: bool = False  # detection only: changes nothing


class MessageRef(_Value):
    """Where a Slack message lives; opaque to the domain."""

    channel: str
    ts: str


SESSION_RUN = "run"  # sessions.kind of the real run
SESSION_PREVIEW = "preview"  # sessions.kind of the detection-only preview (SPEC §8)


class SessionInfo(BaseModel):
    """One ImmyBot maintenance session the request follows."""

    model_config = ConfigDict(extra="forbid")

    session_id: int
    computer_id: int | None = None
    status: str = "Created"
    already_in_progress: bool = False
    finished_at: datetime | None = None
    attempt: int = 1  # 1 = the approved run, 2+ = a "Retry failed" run (SPEC §7)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_SESSION_STATUSES or self.status == TIMED_OUT


class Draft(_Value):
    """A validated submission, before it has an id."""

    requester: str
    channel: str
    software: Software
    action: DesiredState
    targets: Targets
    options: RunOptions
    reason: str
    schedule: Schedule = Schedule()  # when it runs (SPEC §7); pinned when the request is recorded


class RuleRecord(_Value):
    """The rule that decided a request, written down at submission so a policy edit never changes
    who may decide a request already waiting (SPEC §6)."""

    name: str
    approvers: tuple[str, ...]
    approvals: int = 1
    channel: str
    allow_self_approval: bool = False
    ttl_hours: float = 24.0
    implicit: bool = False


class Request(BaseModel):
    """A request as stored: the draft plus its lifecycle state and everything needed to carry on."""

    model_config = ConfigDict(extra="forbid")

    id: int
    requester: str
    channel: str
    software: Software
    action: DesiredState
    targets: Targets
    options: RunOptions
    reason: str
    state: RequestState = RequestState.PENDING
    created_at: datetime
    updated_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    auto_approved: bool = False
    session_group_id: str | None = None
    sessions: list[SessionInfo] = Field(default_factory=list)  # the real run's only (kind 'run')
    preview_sessions: list[SessionInfo] = Field(default_factory=list)  # the detection-only run's (kind 'preview')
    preview: Preview | None = None  # SPEC §8: its state and, once known, the verdicts
    outcome: Outcome | None = None
    reported: bool = False
    cancel_requested: bool = False  # an approver cancelled it while running; the follower cancels the sessions
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None
    request_card: MessageRef | None = None
    approval_card: MessageRef | None = None
    status_message: MessageRef | None = None
    rule: RuleRecord | None = None  # the policy rule that decides it, as it was at submission (SPEC §6)
    approved_by: list[str] = Field(default_factory=list)  # distinct approvers so far, in order
    reminders_done: int = 0  # reminder/escalation steps already taken (their due times derive from created_at)
    escalated: bool = False  # `escalate_to` may decide it too
    schedule: Schedule = Schedule()
    # "Retry failed" (SPEC §7): the current attempt, the computers it runs, who asked for it and the
    # sessions of the attempts before (Show log may still be asked for them). `sessions` holds the
    # current attempt's only.
    attempt: int = 1
    attempt_computer_ids: tuple[int, ...] | None = None
    retried_by: str | None = None
    earlier_session_ids: list[int] = Field(default_factory=list)

    @property
    def label(self) -> str:
        return f"#{self.id}"

    @property
    def run_computer_ids(self) -> tuple[int, ...]:
        """The computers the current attempt runs: all targets, or those a retry runs again."""
        return self.attempt_computer_ids if self.attempt_computer_ids is not None else self.targets.computer_ids


class AuditEvent(StrEnum):
    REQUEST_CREATED = "request.created"
    REQUEST_REFUSED = "request.refused"
    DECISION_REFUSED = "decision.refused"
    REQUEST_APPROVED = "request.approved"
    REQUEST_DENIED = "request.denied"
    REQUEST_EXPIRED = "request.expired"
    REQUEST_CANCELLED = "request.cancelled"
    SESSIONS_STARTED = "sessions.started"
    SESSION_FINISHED = "session.finished"
    REQUEST_FINISHED = "request.finished"
    APPROVAL_ADDED = "approval.added"
    REQUEST_REMINDED = "request.reminded"
    REQUEST_ESCALATED = "request.escalated"
    REQUEST_RETRIED = "request.retried"
    PREVIEW_STARTED = "preview.started"
    PREVIEW_FINISHED = "preview.finished"


SYSTEM_ACTOR = "system"
POLICY_ACTOR = "policy"  # `request.approved` by a rule with `approvals: 0`


class Effect(StrEnum):
    """The once-only outward steps of a request, each claimed durably as `<effect>:<request id>`.

    A decision's and a cancellation's announcement are claimed in the transaction that makes the change,
    so only the call that changed the request tells anyone; the others are claimed by the step itself."""

    CARDS_POSTED = "cards"
    DECISION_TOLD = "decided"
    CANCEL_TOLD = "cancelled"
    UNAVAILABLE_TOLD = "unavailable-said"
    SUMMARY_SENDING = "summary-sending"
    SUMMARY_POSTED = "summary-posted"
    APPROVAL_TOLD = "approval-added"  # + ":<approver>": one thread line per approval.added

    def key(self, request_id: int) -> str:
        return f"{self.value}:{request_id}"


EFFECT_TTL_SECONDS = 30 * 86400.0  # a durable "done once" mark outlives any outage or replay window


@dataclass(frozen=True)
class Decided:
    """What a decision use-case did: the request now, and whether THIS call made the change (and so
    holds its announcement: a replayed click or a repeated cancel tells nobody)."""

    request: Request
    tell: bool


@dataclass(frozen=True)
class AuditEntry:
    """One audit event the domain records; `id`, `at`, `prev_hash` and `hash` are filled in at append time."""

    event: str
    actor: str | None = None
    request_id: int | None = None
    requester: str | None = None
    software: dict[str, Any] | None = None
    action: str | None = None
    targets: list[dict[str, Any]] | None = None
    reason: str | None = None
    decision_reason: str | None = None
    immybot_session_ids: list[int] | None = None
    outcome: str | None = None


class SessionResult(_Value):
    """What the final summary shows for one computer: whitelisted fields only, never parameters or logs."""

    session_id: int
    computer_id: int | None
    computer_name: str
    status: str  # SessionStatus name, or TimedOut
    action: str | None = None  # Install / Update / Uninstall / No action ...
    detected_version: str | None = None
    desired_version: str | None = None
    failure_reason: str | None = None
    already_in_progress: bool = False
