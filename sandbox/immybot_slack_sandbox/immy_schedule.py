"""Scheduled sessions of the fake ImmyBot: they wait, as ImmyBot's do, until their time.

* `updateTime: "HH:mm"` in `timeZoneInfoId` (UTC when absent): the session is `Created` (a queued job)
  until that clock time; a time already past today means tomorrow (API.md §4.1).
* `scheduleExecutionAfterActiveHours: true`: the session is `Pending` until the fake's "active hours
  end" (`FakeClock.active_hours_end`, a UTC clock time; every fake computer shares it).

A waiting session does not advance when read; once `clock.now()` reaches its due time it walks its
script as usual. Tests drive time with `fake.clock.set(...)` / `fake.clock.advance(...)`: no sleeping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WAITING_FOR_TIME = "Created"
WAITING_FOR_ACTIVE_HOURS_END = "Pending"
_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _system_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FakeClock:
    """The fake's notion of now: the real clock plus an offset, or a fixed instant."""

    active_hours_end: time = time(18, 0)
    _now: Callable[[], datetime] = field(default=_system_now)
    _offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return self._now() + self._offset

    def set(self, instant: datetime) -> None:
        self._now, self._offset = (lambda: instant), timedelta()

    def advance(self, **delta: float) -> None:
        self._offset += timedelta(**delta)


def schedule_errors(body: dict[str, Any]) -> list[str]:
    """What ImmyBot would refuse in the scheduling fields (a 400)."""
    errors = []
    at, zone = body.get("updateTime"), body.get("timeZoneInfoId")
    if at is not None and not (isinstance(at, str) and _HH_MM.match(at)):
        errors.append(f"updateTime: {at!r} is not HH:mm")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(f"timeZoneInfoId: unknown time zone {zone!r}")
    return errors


def _next(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    due = datetime.combine(local.date(), at, tzinfo=zone)
    return (due if due > local else due + timedelta(days=1)).astimezone(UTC)


def due_time(body: dict[str, Any], clock: FakeClock) -> tuple[datetime, str] | None:
    """(when the session may start, the status it waits in), or None for a run now."""
    at = body.get("updateTime")
    if at:
        hour, minute = (int(part) for part in at.split(":"))
        return _next(clock.now(), time(hour, minute), ZoneInfo(body.get("timeZoneInfoId") or "UTC")), WAITING_FOR_TIME
    if body.get("scheduleExecutionAfterActiveHours"):
        return _next(clock.now(), clock.active_hours_end, ZoneInfo("UTC")), WAITING_FOR_ACTIVE_HOURS_END
    return None
