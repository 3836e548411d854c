"""Narrow ports the domain calls out through; adapters (Slack, ImmyBot) implement them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.workflow.model import Request, SessionInfo, SessionResult, Software


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
