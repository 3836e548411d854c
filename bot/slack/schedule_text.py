"""How the cards and the thread say when a request runs (SPEC §7), in the requester's time zone.

The schedule's words come from the domain (`Schedule.describe`); the time zone name came from a Slack
profile, so it is escaped like anything else that did not come from us.
"""

from __future__ import annotations

from datetime import datetime

from bot.slack.text import escape, mention
from bot.workflow.model import Request
from bot.workflow.schedule import Schedule, When


def when_text(schedule: Schedule | None, now: datetime | None = None) -> str:
    """`*When:* at 18:30 (Europe/Berlin), Wed 5 Mar`; empty for Now (the cards say nothing new then)."""
    if schedule is None or schedule.when is When.NOW:
        return ""
    icon = ":crescent_moon:" if schedule.when is When.AFTER_HOURS else ":clock6:"
    return f"{icon} *When:* {escape(schedule.describe(now))}"


def scheduled_thread_text(request: Request, schedule: Schedule, now: datetime | None = None) -> str:
    """The thread reply once a scheduled run is handed to ImmyBot."""
    return (f"{mention(request.requester)} {request.label} is scheduled: ImmyBot runs it "
            f"{escape(schedule.describe(now))}. This thread says when it is done.")
