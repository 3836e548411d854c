"""`ImmyBotSessions`: the follower's `SessionsPort` on top of `ImmyBotClient`.

Maps client results to domain values (`SessionInfo`, `SessionResult`) and client errors to the two
domain errors the follower understands:

- `BackendUnavailable`: 429 (with its Retry-After), 5xx/timeouts/refused connections, an HTML or
  malformed body, and token/permission failures (an admin can fix those while the bot keeps trying).
  On `run-immy-service` every one of them except 429 sets `maybe_started`: the POST may have reached
  ImmyBot, so the starter looks the sessions up by group id before sending it again.
- `BackendRejected`: any other 4xx (400 for a body ImmyBot does not accept, 404 for a session that
  does not exist): the same call will never work.

Only whitelisted fields leave this module: never script parameters, logs or parameter values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TypeVar

from bot.immybot.client import ImmyBotClient
from bot.immybot.errors import (
    ImmyBotError,
    ImmyNotFound,
    ImmyRateLimited,
    ImmyRejected,
)
from bot.immybot.models import MaintenanceAction
from bot.workflow.errors import BackendRejected, BackendUnavailable
from bot.workflow.model import (
    OfflineBehavior,
    RebootPreference,
    Request,
    RunOptions,
    SessionInfo,
    SessionResult,
    Software,
)
from bot.workflow.preview import ActionFacts
from bot.workflow.schedule import Schedule
from bot.workflow.scheduling import run_schedule

T = TypeVar("T")

ACTION_LABELS = {
    "NoAction": "No action",
    "Install": "Install",
    "Update": "Update",
    "Uninstall": "Uninstall",
    "Reinstall": "Reinstall",
    "Downgrade": "Downgrade",
    "Download": "Download",
    "Undetermined": "Undetermined",
}


async def _call(awaitable: Awaitable[T], *, starting: bool = False) -> T:
    try:
        return await awaitable
    except ImmyRateLimited as error:
        raise BackendUnavailable(f"ImmyBot is rate limiting: {error}", retry_after=error.retry_after) from error
    except (ImmyRejected, ImmyNotFound) as error:
        raise BackendRejected(f"ImmyBot refused: {error}") from error
    except ImmyBotError as error:
        raise BackendUnavailable(f"ImmyBot is unavailable: {error}", maybe_started=starting) from error


class ImmyBotSessions:
    """Implements `bot.workflow.ports.SessionsPort`."""

    def __init__(self, client: ImmyBotClient) -> None:
        self._client = client

    async def start(self, request: Request, computer_ids: Sequence[int], group_id: str) -> list[SessionInfo]:
        return await self._run(request, computer_ids, group_id, request.options, run_schedule(request))

    async def start_preview(self, request: Request, computer_ids: Sequence[int], group_id: str) -> list[SessionInfo]:
        """The detection-only run of SPEC §8, now whatever the request's schedule: reboots suppressed,
        offline computers skipped."""
        options = RunOptions(reboot=RebootPreference.SUPPRESS, offline=OfflineBehavior.SKIP, preview=True)
        return await self._run(request, computer_ids, group_id, options, None)

    async def _run(
        self, request: Request, computer_ids: Sequence[int], group_id: str, options: RunOptions,
        schedule: Schedule | None,
    ) -> list[SessionInfo]:
        new = schedule is not None and schedule.uses_run_new
        run = self._client.run_immy_service_new if new else self._client.run_immy_service
        answer = await _call(run(computer_ids=list(computer_ids), software=request.software, action=request.action,
                                 options=options, session_group_id=group_id, schedule=schedule),
                             starting=True)  # fmt: skip
        if answer is None:  # run-immy-service-new answers without session ids: the starter finds them by group id
            return []
        result = answer
        # the client already dropped (and counted) sessions without an id; the filter keeps the types honest
        started = [SessionInfo(session_id=s.session_id, computer_id=s.computer_id)
                   for s in result.started if s.session_id is not None]  # fmt: skip
        already = [
            SessionInfo(session_id=s.session_id, computer_id=s.computer_id, already_in_progress=True)
            for s in result.already_in_progress
            if s.session_id is not None
        ]
        return started + already

    async def find(self, computer_id: int, group_id: str) -> list[SessionInfo]:
        sessions = await _call(self._client.find_sessions(computer_id, group_id))
        return [
            SessionInfo(session_id=s.id, computer_id=s.computer_id or computer_id, status=s.status) for s in sessions
        ]

    async def status(self, session_id: int) -> str:
        session = await _call(self._client.get_session(session_id))
        return session.status

    async def cancel(self, session_id: int) -> None:
        await _call(self._client.cancel_session(session_id))

    async def result(self, session: SessionInfo, software: Software, computer_name: str) -> SessionResult:
        actions = await _call(self._client.session_actions(session.session_id))
        action = pick_action(actions, software)
        return SessionResult(
            session_id=session.session_id,
            computer_id=session.computer_id,
            computer_name=computer_name,
            status=session.status,
            action=ACTION_LABELS.get(action.action_type or "", action.action_type) if action else None,
            detected_version=action.detected_version if action else None,
            desired_version=action.desired_version if action else None,
            failure_reason=action.result_reason_message if action else None,
            already_in_progress=session.already_in_progress,
        )

    async def preview_facts(self, session: SessionInfo, software: Software, computer_name: str) -> ActionFacts:
        """What a detection-only session says about its computer, as plain facts for the domain's verdict."""
        action = pick_action(await _call(self._client.session_actions(session.session_id)), software)
        return action_facts(action, session, computer_name)


def action_facts(action: MaintenanceAction | None, session: SessionInfo, computer_name: str) -> ActionFacts:
    """A detection-only action's facts, names only (the verdict is the domain's: `computer_preview`)."""
    facts = ActionFacts(computer_id=session.computer_id, computer_name=computer_name, session_status=session.status)
    if action is None:
        return facts
    return facts.model_copy(update={
        "action_type": action.action_type, "action_status": action.status, "result": action.result,
        "reason": action.reason, "result_reason": action.result_reason, "message": action.result_reason_message,
        "detected_version": action.detected_version, "desired_version": action.desired_version,
        "computer_online": action.computer_online,
    })  # fmt: skip


def pick_action(actions: Sequence[MaintenanceAction], software: Software) -> MaintenanceAction | None:
    """The action for this software, skipping parent roll-up rows (API.md §5.4)."""
    parents = {a.parent_id for a in actions if a.parent_id is not None}
    leaves = [a for a in actions if a.id not in parents]
    for action in leaves:
        same_item = action.maintenance_identifier in (None, str(software.id))
        same_catalog = action.maintenance_type in (None, software.catalog.maintenance_type)
        if same_item and same_catalog and action.maintenance_identifier is not None:
            return action
    return leaves[0] if len(leaves) == 1 else None


async def log_messages(client: ImmyBotClient, session_id: int, last: int) -> list[str]:
    """Show log: the session's last `last` log messages (never parameters: `session_logs`), faults mapped
    to the domain's errors like every other call."""
    return [line.message for line in await _call(client.session_log_lines(session_id, last=last))]
