"""A request's schedule at run time (SPEC §7): what the run sends, what the audit says, when to give up.

A "Retry failed" attempt runs now: the technician pressed the button to try again at once, and the
first attempt's clock time has passed anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.workflow.model import Request
from bot.workflow.schedule import Schedule, When


def run_schedule(request: Request) -> Schedule:
    """The schedule the current attempt is sent with: the chosen one, or now for a retry."""
    return request.schedule if request.attempt == 1 else Schedule.now()


def started_outcome(request: Request) -> str | None:
    """The `sessions.started` row's `outcome`: when a scheduled run runs (null for now).

    `scheduled_at <UTC ISO 8601> (<HH:mm> <IANA zone>)`, or `scheduled_after_active_hours`.
    """
    schedule = run_schedule(request)
    if schedule.when is When.AFTER_HOURS:
        return "scheduled_after_active_hours"
    if schedule.when is When.AT_TIME and schedule.at is not None:
        run_at = schedule.run_at or schedule.next_run(request.created_at)
        assert run_at is not None
        stamp = run_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return f"scheduled_at {stamp} ({schedule.at:%H:%M} {schedule.tz})"
    return None


def give_up_at(request: Request, since: datetime, max_wait: timedelta) -> datetime:
    """The follower stops waiting at the scheduled time (or `since`) plus SESSION_MAX_WAIT_HOURS."""
    return run_schedule(request).give_up_at(since, max_wait)


def waits_until(request: Request, now: datetime) -> datetime | None:
    """The pinned run time while it is still ahead: the follower polls slowly until then."""
    run_at = run_schedule(request).run_at
    return run_at if run_at is not None and run_at > now else None
