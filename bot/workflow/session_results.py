"""One session's result for a summary: read from ImmyBot with a few retries, else its status alone."""

from __future__ import annotations

import asyncio
import logging

from bot.retry import RetryPolicy, retry_call
from bot.workflow.errors import BackendRejected, BackendUnavailable
from bot.workflow.model import Request, SessionInfo, SessionResult
from bot.workflow.ports import SessionsPort

log = logging.getLogger(__name__)


async def read_result(
    sessions: SessionsPort, limit: asyncio.Semaphore, request: Request, session: SessionInfo, names: dict[int, str],
    *, base_seconds: float, cap_seconds: float,
) -> SessionResult:
    """What ImmyBot did on one computer; when it cannot be read, the summary still shows the status."""
    name = names.get(session.computer_id or -1, f"computer {session.computer_id}")

    async def read() -> SessionResult:
        async with limit:
            return await sessions.result(session, request.software, name)

    def retrying(attempt: int, error: BaseException, wait: float) -> None:
        log.warning("could not read session %s's actions (%s)", session.session_id, error)

    policy = RetryPolicy(attempts=3, base_seconds=base_seconds, cap_seconds=cap_seconds, max_retry_after=None,
                         jitter=False)
    try:
        found = await retry_call(read, policy, on_retry=retrying,
                                 retry_if=lambda error: isinstance(error, BackendUnavailable | BackendRejected))
        return found.model_copy(update={"status": session.status})
    except (BackendUnavailable, BackendRejected) as error:
        log.warning("could not read session %s's actions (%s); the summary shows its status", session.session_id,
                    error)
    return SessionResult(
        session_id=session.session_id,
        computer_id=session.computer_id,
        computer_name=name,
        status=session.status,
        already_in_progress=session.already_in_progress,
    )
