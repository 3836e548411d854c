"""The final summary exactly once, also across a crash (SPEC §3 step 5, §4).

The follower claims the summary (`claim_report`) and then the reporter posts it. The reporter brackets
its Slack calls with two durable marks (dedup keys through `RequestService.claim`):

- `summary-sending:{id}`, claimed just before the first Slack call: from then on some of the summary
  may be in the thread;
- `summary-posted:{id}`, claimed once every part (and the CSV) is there.

On SQLite (one process), at start-up, BEFORE the follower runs (so nothing this process claims is
mistaken for a dead one's), a finished request that was claimed but is not marked posted belongs to a
process that died mid-report. With PostgreSQL replicas that would be wrong (the claim may be a live
replica's, posting right now): the summary is held under a lease instead, and only the replica that took
over a lapsed lease resumes it (`SlackReporter.recover_summary`, from the follower's recovery tick).
Its results are read again from ImmyBot and the reporter posts it: straight away when `sending` was
never claimed (nothing reached Slack), otherwise only after reading the thread
(`conversations.replies` with `include_all_metadata`) and skipping the parts whose
`immy_request_summary` metadata is there, and the CSV when a reply carries its file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.retry import RetryPolicy, retry_call
from bot.workflow.errors import BackendRejected, BackendUnavailable
from bot.workflow.model import Effect, Request, RequestState, SessionInfo, SessionResult
from bot.workflow.ports import SessionsPort

log = logging.getLogger(__name__)

SENDING = Effect.SUMMARY_SENDING.value + ":{id}"
POSTED = Effect.SUMMARY_POSTED.value + ":{id}"
MARK_TTL = 30 * 86400.0
RECHECK_WITHIN = timedelta(days=7)  # a summary claimed longer ago than this is not looked for again


def summary_ref(request: Request) -> str:
    """Names one summary in marks and file names: the request, and the attempt after a "Retry failed"."""
    return str(request.id) if request.attempt == 1 else f"{request.id}.{request.attempt}"


class Marks(Protocol):
    async def claim(self, key: str, ttl_seconds: float = 3600) -> bool: ...

    async def claimed(self, key: str) -> bool: ...


class FinishedRequests(Marks, Protocol):
    async def in_states(self, *states: RequestState) -> list[Request]: ...


async def unposted(service: FinishedRequests, *, now: datetime | None = None) -> list[Request]:
    """Finished requests whose summary was claimed but never marked posted (recently finished ones only)."""
    since = (now or datetime.now(UTC)) - RECHECK_WITHIN
    found: list[Request] = []
    for request in await service.in_states(RequestState.FINISHED):
        posted = POSTED.format(id=summary_ref(request))
        if request.reported and request.updated_at >= since and not await service.claimed(posted):
            found.append(request)
    return found


async def results_for(
    request: Request, sessions: SessionsPort, *, attempts: int = 3, pause: float = 1.0
) -> list[SessionResult]:
    """What the summary shows per session, read again from ImmyBot (one at a time: recovery is no rush)."""
    names = {c.id: c.name for c in request.targets.computers}
    results: list[SessionResult] = []
    for session in request.sessions:
        results.append(await _result(request, session, names, sessions, attempts, pause))
    return results


async def _result(
    request: Request, session: SessionInfo, names: dict[int, str], sessions: SessionsPort, attempts: int, pause: float
) -> SessionResult:
    name = names.get(session.computer_id or -1, f"computer {session.computer_id}")

    def retrying(attempt: int, error: BaseException, wait: float) -> None:
        log.warning("could not read session %s's actions (%s)", session.session_id, error)

    policy = RetryPolicy(attempts=attempts, base_seconds=pause, cap_seconds=pause * 2**attempts,
                         max_retry_after=None, jitter=False)
    try:
        found = await retry_call(lambda: sessions.result(session, request.software, name), policy, on_retry=retrying,
                                 retry_if=lambda error: isinstance(error, BackendUnavailable | BackendRejected))
        return found.model_copy(update={"status": session.status})
    except (BackendUnavailable, BackendRejected) as error:
        log.warning("could not read session %s's actions (%s)", session.session_id, error)
    return SessionResult(
        session_id=session.session_id,
        computer_id=session.computer_id,
        computer_name=name,
        status=session.status,
        already_in_progress=session.already_in_progress,
    )


def summary_in(
    messages: Iterable[dict[str, Any]], request_id: int, event_type: str, csv_name: str, attempt: int = 1
) -> tuple[set[int], bool]:
    """The summary parts (by their metadata) and whether the CSV is among these thread messages."""
    parts: set[int] = set()
    csv = False
    for message in messages:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == event_type and payload.get("request_id") == request_id \
                and payload.get("attempt", 1) == attempt:
            parts.add(int(payload.get("part", 0)))
        csv = csv or any(f.get("name") == csv_name for f in message.get("files") or [])
    return parts, csv
