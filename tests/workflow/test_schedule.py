"""`Schedule` (SPEC §7): choices, past times roll to the next day, DST, UTC fallback, run fields, give-up."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.workflow.schedule import Schedule, ScheduleError, When, parse_hhmm, resolve_zone

BERLIN = "Europe/Berlin"


def test_parse_hhmm() -> None:
    assert parse_hhmm("18:30") == time(18, 30) and parse_hhmm("7:05") == time(7, 5)
    for bad in ("24:00", "18:60", "noon", "", "18:30:00"):
        with pytest.raises(ScheduleError):
            parse_hhmm(bad)


def test_choices_from_the_modal() -> None:
    assert Schedule.chosen(When.NOW, None, BERLIN) == Schedule.now()
    assert Schedule.chosen(When.AFTER_HOURS, None, None).when is When.AFTER_HOURS
    at = Schedule.chosen(When.AT_TIME, time(18, 30), BERLIN)
    assert (at.at, at.tz, at.tz_fallback) == (time(18, 30), BERLIN, False)
    with pytest.raises(ScheduleError, match="pick a time"):
        Schedule.chosen(When.AT_TIME, None, BERLIN)
    with pytest.raises(ScheduleError, match="a time was picked"):
        Schedule.chosen(When.NOW, time(18, 30), BERLIN)


def test_no_or_unknown_profile_tz_falls_back_to_utc_and_says_so() -> None:
    assert resolve_zone(None) == ("UTC", True)
    assert resolve_zone("Mars/Olympus_Mons") == ("UTC", True)
    assert resolve_zone("../../etc/passwd") == ("UTC", True)
    schedule = Schedule.at_time("18:30", None).pin(datetime(2025, 3, 4, 12, 0, tzinfo=UTC))
    assert schedule.tz == "UTC" and schedule.tz_fallback
    assert schedule.run_at == datetime(2025, 3, 4, 18, 30, tzinfo=UTC)
    assert "UTC — your Slack profile has no time zone" in schedule.describe()


def test_a_later_time_today_runs_today() -> None:
    now = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)  # 13:00 in Berlin
    pinned = Schedule.at_time("18:30", BERLIN).pin(now)
    assert pinned.run_at == datetime(2025, 3, 4, 17, 30, tzinfo=UTC) and not pinned.next_day
    assert pinned.describe() == "at 18:30 (Europe/Berlin), Tue 4 Mar"


def test_a_past_time_means_the_next_day_and_says_so() -> None:
    now = datetime(2025, 3, 4, 20, 0, tzinfo=UTC)  # 21:00 in Berlin
    pinned = Schedule.at_time("18:30", BERLIN).pin(now)
    assert pinned.run_at == datetime(2025, 3, 5, 17, 30, tzinfo=UTC) and pinned.next_day
    assert pinned.describe() == "at 18:30 (Europe/Berlin), Wed 5 Mar, the next day: 18:30 had already passed when asked"
    # exactly now is not in the future either
    assert Schedule.at_time("21:00", BERLIN).next_run(now) == datetime(2025, 3, 5, 20, 0, tzinfo=UTC)


def test_the_day_is_the_requesters_not_utcs() -> None:
    now = datetime(2025, 3, 4, 23, 30, tzinfo=UTC)  # already 5 March, 00:30, in Berlin
    pinned = Schedule.at_time("08:00", BERLIN).pin(now)
    assert pinned.run_at == datetime(2025, 3, 5, 7, 0, tzinfo=UTC) and not pinned.next_day
    tokyo = Schedule.at_time("09:00", "Asia/Tokyo").pin(datetime(2025, 3, 4, 1, 0, tzinfo=UTC))  # 10:00 there
    assert tokyo.run_at == datetime(2025, 3, 5, 0, 0, tzinfo=UTC) and tokyo.next_day


def test_dst_offsets_follow_the_run_day() -> None:
    # Asked in winter (UTC+1) for after the spring change (UTC+2): the offset of the run day counts.
    now = datetime(2025, 3, 29, 20, 0, tzinfo=UTC)  # Sat 21:00 CET; Sunday 30 March is CEST
    pinned = Schedule.at_time("18:30", BERLIN).pin(now)
    assert pinned.run_at == datetime(2025, 3, 30, 16, 30, tzinfo=UTC)
    # New York falls back on 2 Nov 2025: 01:30 happens twice; the first one is meant.
    ny = Schedule.at_time("01:30", "America/New_York").pin(datetime(2025, 11, 2, 4, 0, tzinfo=UTC))
    assert ny.run_at == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)


def test_a_time_skipped_by_dst_lands_after_the_change_and_says_so() -> None:
    now = datetime(2025, 3, 29, 23, 0, tzinfo=UTC)  # Sun 00:00 CET; 02:30 does not exist that night
    pinned = Schedule.at_time("02:30", BERLIN).pin(now)
    assert pinned.run_at == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert "03:30" in pinned.describe() and "does not exist that day" in pinned.describe()


def test_naive_now_is_utc() -> None:
    assert Schedule.at_time("18:30", "UTC").next_run(datetime(2025, 3, 4, 12, 0)) == datetime(
        2025, 3, 4, 18, 30, tzinfo=UTC)


def test_run_fields_and_endpoint() -> None:
    assert Schedule.now().run_fields() == {} and not Schedule.now().uses_run_new
    assert Schedule.after_hours().run_fields() == {"scheduleExecutionAfterActiveHours": True}
    assert not Schedule.after_hours().uses_run_new
    at = Schedule.at_time("07:05", "America/Los_Angeles")
    assert at.run_fields() == {"updateTime": "07:05", "timeZoneInfoId": "America/Los_Angeles"}
    assert at.uses_run_new


def test_give_up_deadline_is_the_scheduled_time_plus_max_wait() -> None:
    started = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    wait = timedelta(hours=6)
    assert Schedule.now().give_up_at(started, wait) == started + wait
    assert Schedule.after_hours().give_up_at(started, wait) == started + timedelta(days=1) + wait
    pinned = Schedule.at_time("18:30", BERLIN).pin(datetime(2025, 3, 4, 20, 0, tzinfo=UTC))
    assert pinned.give_up_at(started, wait) == datetime(2025, 3, 5, 23, 30, tzinfo=UTC)


def test_pinned_schedule_round_trips_through_json() -> None:
    pinned = Schedule.at_time("18:30", BERLIN).pin(datetime(2025, 3, 4, 20, 0, tzinfo=UTC))
    assert Schedule.model_validate_json(pinned.model_dump_json()) == pinned
    assert Schedule.now().describe() == "now"
    assert Schedule.after_hours().describe().startswith("after business hours")
