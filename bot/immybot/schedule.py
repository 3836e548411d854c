"""When a run starts (SPEC §7): now, after the computers' active hours, or at a clock time.

`Schedule.at_time("18:30", "Europe/Paris")` goes through `run-immy-service-new` (`updateTime` +
`timeZoneInfoId`, API.md §4.1); `Schedule.after_hours()` sends `scheduleExecutionAfterActiveHours`.
A time already past today means the same time tomorrow, as ImmyBot does; `next_run` says when.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Schedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: str | None = None  # "HH:mm", 24 h, in `time_zone`
    time_zone: str | None = None  # IANA name (Slack's users.info `tz`); None with `at` means UTC
    after_active_hours: bool = False

    @field_validator("at")
    @classmethod
    def _clock_time(cls, value: str | None) -> str | None:
        if value is not None and not _HH_MM.match(value):
            raise ValueError(f"{value!r} is not a 24-hour HH:mm time")
        return value

    @field_validator("time_zone")
    @classmethod
    def _iana(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if self.at is not None and self.after_active_hours:
            raise ValueError("a run is either at a time or after active hours, not both")
        return self

    @classmethod
    def now(cls) -> Schedule:
        return cls()

    @classmethod
    def after_hours(cls) -> Schedule:
        return cls(after_active_hours=True)

    @classmethod
    def at_time(cls, at: str, time_zone: str | None) -> Schedule:
        return cls(at=at, time_zone=time_zone)

    @property
    def timed(self) -> bool:
        return self.at is not None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or "UTC")

    def next_run(self, now: datetime) -> datetime | None:
        """When a timed run starts (aware, in `zone`): today at `at`, or tomorrow if that is not after `now`."""
        if self.at is None:
            return None
        local_now = now.astimezone(self.zone)
        hour, minute = map(int, self.at.split(":"))
        due = datetime.combine(local_now.date(), time(hour, minute), tzinfo=self.zone)
        return due if due > local_now else due + timedelta(days=1)

    def body_fields(self) -> dict[str, Any]:
        """The `RunImmyServiceRequestBody` properties this schedule sets (every one, explicitly)."""
        return {
            "updateTime": self.at,
            "timeZoneInfoId": (self.time_zone or "UTC") if self.at is not None else None,
            "useComputersTimezoneForExecution": False,
            "scheduleExecutionAfterActiveHours": self.after_active_hours,
        }


def utc_now() -> datetime:
    return datetime.now(UTC)
