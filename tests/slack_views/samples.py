"""Deterministic domain values for the view builder tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.workflow.model import (
    Catalog,
    Computer,
    DesiredState,
    Outcome,
    Request,
    RequestState,
    RunOptions,
    SessionInfo,
    SessionResult,
    Software,
    Targets,
)

CREATED = datetime(2025, 3, 4, 13, 55, tzinfo=UTC)
DECIDED = datetime(2025, 3, 4, 14, 2, tzinfo=UTC)
BASE_URL = "https://acme.immy.bot"


def computers(n: int, prefix: str = "PC-ACME-") -> tuple[Computer, ...]:
    return tuple(Computer(id=100 + i, name=f"{prefix}{i:03d}") for i in range(n))


def request(**changes: Any) -> Request:
    values: dict[str, Any] = {
        "id": 42,
        "requester": "U0ALICE",
        "channel": "C0OPS",
        "software": Software(id=714, name="7-Zip", catalog=Catalog.GLOBAL),
        "action": DesiredState.LATEST,
        "targets": Targets(computers=computers(3)),
        "options": RunOptions(),
        "reason": "Ticket 1234: outdated 7-Zip flagged by the scanner",
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    values.update(changes)
    return Request(**values)


def approved(**changes: Any) -> Request:
    return request(state=RequestState.APPROVED, decided_by="U0BOB", decided_at=DECIDED, **changes)


def denied() -> Request:
    return request(state=RequestState.DENIED, decided_by="U0BOB", decided_at=DECIDED, decision_reason="Not today")


def finished(outcome: Outcome = Outcome.PARTIAL) -> Request:
    return request(state=RequestState.FINISHED, decided_by="U0BOB", decided_at=DECIDED, outcome=outcome)


def running() -> Request:
    sessions = [
        SessionInfo(session_id=5001, computer_id=100, status="Passed"),
        SessionInfo(session_id=5002, computer_id=101, status="Running"),
        SessionInfo(session_id=5003, computer_id=102, status="Pending", already_in_progress=True),
    ]
    return request(state=RequestState.RUNNING, decided_by="U0BOB", decided_at=DECIDED, sessions=sessions)


def results(n: int = 3, *, failed: int = 1) -> list[SessionResult]:
    out = []
    for i in range(n):
        bad = i >= n - failed
        out.append(
            SessionResult(
                session_id=5000 + i,
                computer_id=100 + i,
                computer_name=f"PC-ACME-{i:03d}",
                status="Failed" if bad else "Passed",
                action="Update",
                detected_version="19.00",
                desired_version="23.01",
                failure_reason="Installer exited with 1603 <fatal> & rolled back" if bad else None,
            )
        )
    return out
