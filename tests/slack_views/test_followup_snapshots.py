"""Snapshots of the §6–§8 views: schedule on the cards, approvals/policy/preview on the approval card,
Retry failed and Show log on the summary, and the texts that go with them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.slack.approvals.preview_views import preview_csv, preview_details_modal
from bot.slack.approvals.views import (
    already_approved_text,
    approval_added_text,
    approval_card,
    escalation_text,
    reminder_text,
)
from bot.slack.reports.followup_views import (
    log_message,
    nothing_to_retry_text,
    retry_refused_text,
    retry_started_text,
)
from bot.slack.reports.views import final_summary, status_message
from bot.slack.requests.views import request_card
from bot.slack.schedule_text import scheduled_thread_text
from bot.workflow.model import RequestState
from bot.workflow.preview import PreviewState
from bot.workflow.retry import RetryRefusal
from tests.slack_views import followup_samples as f
from tests.slack_views import samples as s
from tests.slack_views.snapshot import assert_snapshot

CASES: dict[str, Callable[[], Any]] = {
    "request_card_at_time": lambda: request_card(s.request(), schedule=f.AT_TIME),
    "request_card_next_day": lambda: request_card(s.request(), schedule=f.NEXT_DAY),
    "request_card_no_tz": lambda: request_card(s.request(), schedule=f.NO_TZ),
    "request_card_after_hours": lambda: request_card(s.approved(), schedule=f.AFTER_HOURS),
    "status_message_scheduled": lambda: status_message(s.approved(sessions=s.running().sessions),
                                                       names={100: "PC-ACME-000"}, schedule=f.NEXT_DAY),
    "scheduled_thread_text": lambda: scheduled_thread_text(s.approved(), f.NEXT_DAY),
    "approval_card_two_approvals": lambda: approval_card(
        s.request(), rule_name="uninstalls need two", approvals_needed=2, approved_by=["U0BOB"]),
    "approval_card_policy": lambda: approval_card(
        s.request(state=RequestState.APPROVED, decided_by="policy", decided_at=s.DECIDED),
        rule_name="previews are free", approved_by_policy="previews are free"),
    "approval_card_preview_running": lambda: approval_card(s.request(), preview=f.preview(state=PreviewState.RUNNING)),
    "approval_card_preview_unavailable": lambda: approval_card(
        s.request(), preview=f.preview(state=PreviewState.UNAVAILABLE)),
    "approval_card_preview": lambda: approval_card(s.request(), preview=f.preview(6), schedule=f.AT_TIME),
    "approval_card_preview_partial_many": lambda: approval_card(
        s.request(targets=s.request().targets.model_copy(update={"computers": s.computers(30)})),
        preview=f.preview(30, PreviewState.PARTIAL)),
    "preview_details_modal": lambda: preview_details_modal(s.request(), f.preview(6)),
    "preview_csv": lambda: preview_csv(f.preview(3)),
    "reminder_text": lambda: reminder_text(s.request(), ["U0BOB", "S0LEADS", "<!channel>"], number=1, of=2,
                                           approvals_needed=2, approved_by=["U0CAROL"]),
    "escalation_text": lambda: escalation_text(s.request(), ["U0ONCALL", "S0ONCALL"], reminders=2),
    "final_summary_retry": lambda: final_summary(s.finished(), s.results(3), s.BASE_URL, summary_id="7"),
    "final_summary_retry_round": lambda: final_summary(s.finished(), s.results(1), s.BASE_URL, summary_id="8",
                                                       retry=1),
    "approval_texts": lambda: [approval_added_text(s.request(), "U0BOB", approvals_needed=2, approved_by=["U0BOB"]),
                               already_approved_text(s.request())],
    "final_summary_all_passed": lambda: final_summary(s.finished(), s.results(2, failed=0), s.BASE_URL,
                                                      summary_id="7"),
    "show_log": lambda: log_message(s.finished(), "PC-ACME-002", 5002, f.LOG).__dict__,
    "show_log_empty": lambda: log_message(s.finished(), "PC-ACME-002", 5002, []).__dict__,
    "retry_texts": lambda: [nothing_to_retry_text(s.finished()), retry_started_text(s.finished(), 2, "U0BOB"),
                            *(retry_refused_text(s.finished(), r, window_hours=24) for r in RetryRefusal)],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_followup_view_matches_snapshot(name: str) -> None:
    assert_snapshot(name, CASES[name]())


def test_followup_builders_are_deterministic() -> None:
    for name, build in CASES.items():
        assert build() == build(), name
