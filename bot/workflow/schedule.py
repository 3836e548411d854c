"""When a request runs (SPEC §7): now, after each computer's active hours, or at a clock time.

Pure domain: no Slack, HTTP or SQL. A `Schedule` is chosen in the modal (`When` + an optional `HH:mm`),
completed with the requester's IANA time zone from their Slack profile (UTC when the profile has none,
flagged so the cards can say so), and *pinned* at submission: the instant it will run is computed once
from the submission time, so a card re-rendered later never drifts to another day.

A clock time already past today means the same time tomorrow, as ImmyBot does with `updateTime`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

FALLBACK_TZ = "UTC"
# ImmyBot waits for each computer's active hours to end: at most a day away, whatever the hours are.
AFTER_HOURS_HORIZON = timedelta(days=1)
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class When(StrEnum):
    NOW = "now"
    AFTER_HOURS = "after_hours"
    AT_TIME = "at_time"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {When.NOW: "Now", When.AFTER_HOURS: "After business hours", When.AT_TIME: "At a time"}


class ScheduleError(ValueError):
    """A schedule that cannot be run (e.g. `At a time` without a time); `str()` says why."""


def parse_hhmm(text: str) -> time:
    """`"18:30"` (Slack's timepicker value) as a clock time; anything else is a `ScheduleError`."""
    match = _HHMM.match(text.strip())
    if not match:
        raise ScheduleError(f"{text!r} is not a time of day (HH:mm, 24 h)")
    return time(int(match.group(1)), int(match.group(2)))


def resolve_zone(name: str | None) -> tuple[str, bool]:
    """(IANA name to use, fell back to UTC?): a missing or unknown profile time zone falls back to UTC."""
    if name:
        try:
            ZoneInfo(name)
            return name, False
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return FALLBACK_TZ, True


class Schedule(BaseModel):
    """The requester's choice, and once `pinned`, the instant it runs (`run_at`, UTC)."""

    model_config = ConfigDict(frozen=True)

    when: When = When.NOW
    at: time | None = None  # the clock time, for AT_TIME
    tz: str = FALLBACK_TZ  # IANA name, the requester's Slack profile time zone
    tz_fallback: bool = False  # the profile had no (known) time zone: UTC was used
    run_at: datetime | None = None  # pinned: when it will run (AT_TIME only), aware, UTC
    next_day: bool = False  # pinned: the time had already passed on the day it was asked

    @classmethod
    def now(cls) -> Schedule:
        return cls()

    @classmethod
    def after_hours(cls) -> Schedule:
        return cls(when=When.AFTER_HOURS)

    @classmethod
    def at_time(cls, at: time | str, profile_tz: str | None) -> Schedule:
        clock = parse_hhmm(at) if isinstance(at, str) else at.replace(second=0, microsecond=0, tzinfo=None)
        tz, fallback = resolve_zone(profile_tz)
        return cls(when=When.AT_TIME, at=clock, tz=tz, tz_fallback=fallback)

    @classmethod
    def chosen(cls, when: When, at: time | None, profile_tz: str | None) -> Schedule:
        """From the modal's two inputs; `At a time` without a time, or a time with another choice, is an error."""
        if when is When.AT_TIME:
            if at is None:
                raise ScheduleError("pick a time for “At a time”")
            return cls.at_time(at, profile_tz)
        if at is not None:
            raise ScheduleError(f"a time was picked but the choice is “{when.label}”")
        return cls.after_hours() if when is When.AFTER_HOURS else cls.now()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def is_scheduled(self) -> bool:
        return self.when is not When.NOW

    @property
    def uses_run_new(self) -> bool:
        """`updateTime` is documented for `run-immy-service-new` only (API.md §4): no session ids back."""
        return self.when is When.AT_TIME

    def next_run(self, now: datetime) -> datetime | None:
        """The next instant (UTC) at `at` in `tz` strictly after `now`; None unless AT_TIME.

        Local times that do not exist (the hour skipped by a DST change) are read with the offset before
        the change, i.e. they land just after it; an hour that happens twice means its first occurrence.
        """
        if self.when is not When.AT_TIME or self.at is None:
            return None
        zone = self.zone
        local_now = _aware(now).astimezone(zone)
        for days in (0, 1):  # today, else tomorrow (always ahead: at least ~23 h after today's slot)
            day = local_now.date() + timedelta(days=days)
            candidate = datetime.combine(day, self.at, tzinfo=zone).astimezone(UTC)
            if candidate > _aware(now).astimezone(UTC):
                return candidate
        raise AssertionError("unreachable: tomorrow's slot is always after now")

    def pin(self, now: datetime) -> Schedule:
        """Fix `run_at` (and whether it rolled to the next day) at submission time."""
        run_at = self.next_run(now)
        if run_at is None:
            return self
        today = _aware(now).astimezone(self.zone).date()
        return self.model_copy(update={"run_at": run_at, "next_day": run_at.astimezone(self.zone).date() > today})

    def run_fields(self) -> dict[str, object]:
        """The run body's schedule fields (run-immy-service / run-immy-service-new), nothing for Now."""
        if self.when is When.AFTER_HOURS:
            return {"scheduleExecutionAfterActiveHours": True}
        if self.when is When.AT_TIME and self.at is not None:
            return {"updateTime": f"{self.at:%H:%M}", "timeZoneInfoId": self.tz}
        return {}

    def give_up_at(self, started: datetime, max_wait: timedelta) -> datetime:
        """When the follower stops waiting: the scheduled time (or `started`) plus SESSION_MAX_WAIT_HOURS.

        After business hours has no known instant: a day (active hours end within one) plus the wait.
        """
        start = _aware(started).astimezone(UTC)
        if self.when is When.AT_TIME:
            start = self.run_at or self.next_run(start) or start
        elif self.when is When.AFTER_HOURS:
            start += AFTER_HOURS_HORIZON
        return start + max_wait

    def describe(self, now: datetime | None = None) -> str:
        """Plain text, in the requester's time zone: `at 18:30 (Europe/Berlin), Wed 5 Mar`, plus
        `, the next day: 18:30 had already passed when asked` when it rolled over.

        Uses the pinned `run_at`; an unpinned AT_TIME is resolved against `now` (default: the clock).
        """
        if self.when is When.NOW:
            return "now"
        if self.when is When.AFTER_HOURS:
            return "after business hours (when each computer's active hours end)"
        run_at = self.run_at or self.next_run(now or datetime.now(UTC))
        assert run_at is not None and self.at is not None
        local = run_at.astimezone(self.zone)
        zone = "UTC — your Slack profile has no time zone" if self.tz_fallback else self.tz
        text = f"at {local:%H:%M} ({zone}), {local:%a} {local.day} {local:%b}"
        if local.time() != self.at:
            text += f" ({self.at:%H:%M} does not exist that day: clocks change)"
        rolled = self.next_day if self.run_at else local.date() > _aware(now or run_at).astimezone(self.zone).date()
        if rolled:
            text += f", the next day: {self.at:%H:%M} had already passed when asked"
        return text


def _aware(moment: datetime) -> datetime:
    """A naive datetime is UTC (as everywhere in the bot's store)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
