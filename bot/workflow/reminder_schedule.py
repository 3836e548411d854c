"""When a pending request is reminded, then escalated (SPEC §6): due times from its creation.

Due times, not sleeping tasks: the caller stores how many steps were done and, after a restart,
catches up on every step due by now, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.workflow.rules import Reminders


@dataclass(frozen=True, slots=True)
class ReminderStep:
    at: datetime
    kind: Literal["remind", "escalate"]
    number: int  # 1-based among reminders; the escalation carries the last reminder's number (0 if none)


def reminder_schedule(created_at: datetime, reminders: Reminders | None) -> tuple[ReminderStep, ...]:
    """When a pending request is reminded, then escalated.

    Reminder k (k = 1..repeat) is due at created_at + k × after_minutes. With `escalate_to`, the
    escalation is due at the same time as the last reminder and comes right after it in order (with
    `repeat: 0`, at created_at + after_minutes). The caller stops at the request's decision or expiry.
    """
    if reminders is None:
        return ()
    step = timedelta(minutes=reminders.after_minutes)
    steps = [ReminderStep(created_at + step * k, "remind", k) for k in range(1, reminders.repeat + 1)]
    if reminders.escalate_to:
        steps.append(ReminderStep(created_at + step * max(reminders.repeat, 1), "escalate", reminders.repeat))
    return tuple(steps)


def due_steps(schedule: Sequence[ReminderStep], done: int, now: datetime) -> tuple[ReminderStep, ...]:
    """The steps due by `now` that have not been done yet (`done` = how many were, in order)."""
    return tuple(s for s in schedule[done:] if s.at <= now)
