"""The ports the domain calls out through; the adapters implement them and import only the model.

    RequestStore / StoreTx   durable requests, sessions, once-only keys, the audit log (`bot/store/`;
                             a PostgreSQL store implements the same protocol)
    SessionsPort             ImmyBot maintenance sessions (`bot/immybot/port.py`)
    Notifier                 every outward step people see (`bot/slack/notifier.py`)
    Runs                     what a decision sets going: sessions, previews, cancels (the follower)
    GroupDirectory           who is in a group (`bot/slack/groups.py`)
    Clock                    the time, as an aware UTC datetime

Plain domain types only: no SQL, HTTP or Slack type crosses a port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from bot.workflow.lifecycle import Lifecycle
from bot.workflow.model import (
    AuditEntry,
    Draft,
    Request,
    RequestState,
    SessionInfo,
    SessionResult,
    Software,
)
from bot.workflow.preview import ActionFacts
from bot.workflow.reminder_schedule import ReminderStep

Clock = Callable[[], datetime]
"""Now, as an aware UTC datetime (tests pass a settable one)."""


class StoreTx(Protocol):
    """The operations of one store transaction. A write transaction holds the store's write lock from its
    first read to its commit, so a read-then-write never interleaves with another writer; either all of
    it is committed or none."""

    async def insert_request(self, draft: Draft, now: datetime) -> Request: ...

    async def get_request(self, request_id: int) -> Request | None: ...

    async def get_request_and_key(
        self, request_id: int, key: str | None, now: datetime
    ) -> tuple[Request | None, str | None]:
        """The request and the stored result of a live once-only key (None when unseen), in one read."""
        ...

    async def update_request(self, request: Request, expected: RequestState) -> bool:
        """Compare-and-set: write `request` only if its stored state is still `expected`."""
        ...

    async def recent_for(self, user: str, limit: int) -> list[Request]: ...

    async def count_requests_since(self, requester: str, since: datetime) -> int: ...

    async def in_states(self, states: tuple[RequestState, ...], limit: int = -1) -> list[Request]: ...

    async def pending_created_before(self, cutoff: datetime) -> list[Request]: ...

    async def add_sessions(self, request_id: int, sessions: list[SessionInfo], kind: str = "run") -> None:
        """Store sessions of `kind` ('run', or 'preview': a detection-only run, loaded into
        `Request.preview_sessions` and never into `Request.sessions`)."""
        ...

    async def set_session_status(
        self, request_id: int, session_id: int, status: str, finished_at: datetime | None
    ) -> None: ...

    async def dedup_get(self, key: str, now: datetime) -> str | None:
        """The stored result of a live key ('' when it holds none), or None when unseen/expired."""
        ...

    async def dedup_put(self, key: str, result: str, expires_at: datetime) -> None: ...

    async def claim(self, key: str, now: datetime, expires_at: datetime) -> bool:
        """Take a once-only key unless a live one exists; True for exactly one caller."""
        ...

    async def prune_dedup(self, now: datetime) -> int: ...

    async def append_audit(self, entry: AuditEntry, at: datetime) -> dict[str, Any]:
        """Append to the hash-chained audit log; the row as stored."""
        ...

    async def audit_head(self) -> tuple[int, str] | None: ...

    async def audit_rows(
        self, *, since: datetime | None, request_id: int | None, user: str | None, limit: int | None
    ) -> list[dict[str, Any]]: ...


class RequestStore(Protocol):
    """Durable state: `write()` and `read()` open one transaction each."""

    def write(self) -> AbstractAsyncContextManager[StoreTx]: ...

    def read(self) -> AbstractAsyncContextManager[StoreTx]: ...


class GroupDirectory(Protocol):
    """Who is in a Slack user group. The Slack adapter implements it (usergroups.users.list)."""

    async def members(self, group_id: str) -> frozenset[str]: ...


class SessionsPort(Protocol):
    """ImmyBot maintenance sessions as the follower sees them (`bot/immybot/port.py` implements it).

    Every method raises `BackendUnavailable` for faults worth retrying later and `BackendRejected`
    for a refusal that retrying cannot fix.
    """

    async def start(self, request: Request, computer_ids: Sequence[int], group_id: str) -> list[SessionInfo]:
        """`POST run-immy-service` for these computers; started and already-in-progress sessions.

        Sent once: never retried blindly inside (a 5xx/timeout raises with `maybe_started=True`).
        """
        ...

    async def start_preview(self, request: Request, computer_ids: Sequence[int], group_id: str) -> list[SessionInfo]:
        """The detection-only run (SPEC §8) of the request's software and action on these computers."""
        ...

    async def preview_facts(self, session: SessionInfo, software: Software, computer_name: str) -> ActionFacts:
        """What a detection-only session says about its computer (plain facts; the domain gives the verdict)."""
        ...

    async def find(self, computer_id: int, group_id: str) -> list[SessionInfo]:
        """Sessions of this computer created with this `sessionGroupId` (crash recovery)."""
        ...

    async def status(self, session_id: int) -> str:
        """The session's SessionStatus name (`Running`, `Passed`...)."""
        ...

    async def result(self, session: SessionInfo, software: Software, computer_name: str) -> SessionResult:
        """What the final summary shows for this session: whitelisted fields only."""
        ...

    async def cancel(self, session_id: int) -> None:
        """Cancel one session (`GET /maintenance-sessions/{id}/cancel`)."""
        ...


class Reporter(Protocol):
    """Tells people in the request's thread how it goes (`bot/slack/reports/reporter.py` implements it)."""

    async def progress(self, request: Request, *, immybot_unavailable: bool = False) -> None:
        """Show the request's current session states in its one status message (created once, then edited;
        the adapter coalesces edits to its own rate limit and never drops the latest state)."""
        ...

    async def start_cancelled(self, request: Request, cancelled: list[int], not_cancelled: list[int]) -> None:
        """Say in the thread that ImmyBot started these sessions as the request was cancelled, and which of
        them were cancelled again (`not_cancelled`: ImmyBot refused; someone must look). Called once."""
        ...

    async def final(self, request: Request, results: list[SessionResult]) -> None:
        """Post the final summary as a new thread reply and show the outcome on both cards. Called once."""
        ...

    async def resume_summaries(self, lifecycle: Lifecycle, sessions: SessionsPort) -> None:
        """At the follower's start-up, before it claims any summary itself: post (in the background) the
        summaries a dead process claimed but did not finish posting."""
        ...

    async def recover_summary(self, request: Request, sessions: SessionsPort) -> None:
        """Replicas: post this one summary, claimed by a replica that died (its lease ran out) — unless it is
        marked posted; parts already in the thread are not posted again."""
        ...


class Notifier(Reporter, Protocol):
    """Every step people see, told once per step by the use-case that made it happen, after its change
    committed: a replayed click, a lost race or a repeated cancel tells nobody.

    The Slack adapter implements it (`bot/slack/notifier.py`: cards, thread replies, metrics); the run's
    own steps (progress, start cancelled, final summary) are the follower's `Reporter` part."""

    async def created(self, request: Request) -> None:
        """A request was recorded: pending, or approved at once (by a policy rule, or as an approver's own
        preview)."""
        ...

    async def approval_added(self, request: Request, approver: str) -> None:
        """One approval of several the rule needs; the request is still pending."""
        ...

    async def decided(self, request: Request, actor: str) -> None:
        """Approved (the last approval needed) or denied by `actor`."""
        ...

    async def cancelled(self, request: Request, actor: str) -> None:
        """Cancelled by `actor` (a running request: its sessions are being cancelled)."""
        ...

    async def expired(self, request: Request) -> None:
        """Nobody decided within the approval time."""
        ...

    async def reminded(self, request: Request, steps: tuple[ReminderStep, ...]) -> None:
        """Still undecided: approvers are reminded, then the escalation group is told (SPEC §6)."""
        ...

    async def retried(self, request: Request, computers: int, actor: str) -> None:
        """"Retry failed" was pressed: `computers` that did not pass run again as the request's next attempt."""
        ...

    async def preview_updated(self, request: Request) -> None:
        """The detection-only preview (SPEC §8) has something new to show on the approval card."""
        ...


class Runs(Protocol):
    """What a decision sets going in the background (the follower implements it); each is idempotent and
    none waits for the work it starts."""

    def start_in_background(self, request_id: int) -> None:
        """An approved request's sessions start."""
        ...

    def preview_in_background(self, request_id: int) -> None:
        """A pending request's detection-only preview starts (when it gets one)."""
        ...

    def stop_preview(self, request_id: int) -> None:
        """A decided request's preview sessions are cancelled."""
        ...

    async def cancel(self, request_id: int) -> None:
        """A cancelled request's unfinished sessions (or its preview's) are cancelled."""
        ...


class Untold:
    """A `Notifier` that tells nobody: the use-cases' default where no one is listening (tools, tests)."""

    async def created(self, request: Request) -> None: ...

    async def approval_added(self, request: Request, approver: str) -> None: ...

    async def decided(self, request: Request, actor: str) -> None: ...

    async def cancelled(self, request: Request, actor: str) -> None: ...

    async def expired(self, request: Request) -> None: ...

    async def reminded(self, request: Request, steps: tuple[ReminderStep, ...]) -> None: ...

    async def retried(self, request: Request, computers: int, actor: str) -> None: ...

    async def preview_updated(self, request: Request) -> None: ...

    async def progress(self, request: Request, *, immybot_unavailable: bool = False) -> None: ...

    async def start_cancelled(self, request: Request, cancelled: list[int], not_cancelled: list[int]) -> None: ...

    async def final(self, request: Request, results: list[SessionResult]) -> None: ...

    async def resume_summaries(self, lifecycle: Lifecycle, sessions: SessionsPort) -> None: ...

    async def recover_summary(self, request: Request, sessions: SessionsPort) -> None: ...


class NoRuns:
    """`Runs` where nothing runs in the background (tools, tests of the lifecycle alone)."""

    def start_in_background(self, request_id: int) -> None: ...

    def preview_in_background(self, request_id: int) -> None: ...

    def stop_preview(self, request_id: int) -> None: ...

    async def cancel(self, request_id: int) -> None: ...
