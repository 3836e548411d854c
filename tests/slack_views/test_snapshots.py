"""Every view builder against a reviewed JSON snapshot (deterministic inputs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.slack.approvals.views import approval_card, deny_reason_modal
from bot.slack.commands.views import (
    ComputerStatus,
    audit_list,
    help_message,
    matches_list,
    refusal,
    requests_list,
    status_card,
)
from bot.slack.home.views import home_view
from bot.slack.reports.views import final_summary, status_message, summary_csv
from bot.slack.requests.views import computer_options, request_card, request_modal, software_options
from bot.workflow.model import Catalog, MessageRef, RequestState, RunOptions, Software
from tests.slack_views import samples as s
from tests.slack_views.snapshot import assert_snapshot

AUDIT_ROWS = [
    {"id": 7, "at": "2025-03-04T14:02:00+00:00", "event": "request.approved", "request_id": 42, "actor": "U0BOB"},
    {"id": 6, "at": "2025-03-04T13:55:00+00:00", "event": "request.refused", "request_id": None,
     "actor": "U0CAROL", "outcome": "no software chosen"},
]

CASES: dict[str, Callable[[], Any]] = {
    "request_modal": lambda: request_modal(channel_id="C0OPS", max_targets=25),
    "request_modal_prefill": lambda: request_modal(channel_id="C0OPS", prefill="7zip", max_targets=25),
    "request_modal_initial": lambda: request_modal(
        channel_id="C0OPS", prefill="7-zip", max_targets=10, initial_software=("Global:714", "7-Zip · Global")
    ),
    "software_options": lambda: software_options(
        [Software(id=714, name="7-Zip", catalog=Catalog.GLOBAL), ("Local:12", "Acme VPN client", "Local")]
    ),
    "computer_options": lambda: computer_options(
        [(101, "PC-ACME-01", "Acme Ltd", True), (102, "LAPTOP-9", None, False)]
    ),
    "request_card_pending": lambda: request_card(s.request()),
    "request_card_approved": lambda: request_card(s.approved()),
    "request_card_denied": lambda: request_card(s.denied()),
    "request_card_person": lambda: request_card(
        s.request(targets=s.request().targets.model_copy(update={"person": "U0CAROL", "email": "carol@example.com"}))
    ),
    "request_card_expired": lambda: request_card(s.request(state=RequestState.EXPIRED)),
    "request_card_finished": lambda: request_card(s.finished()),
    "approval_card_pending": lambda: approval_card(s.request()),
    "approval_card_confirm": lambda: approval_card(s.request(targets=s.request().targets.model_copy(
        update={"computers": s.computers(8)}))),
    "approval_card_approved": lambda: approval_card(s.approved()),
    "approval_card_auto_preview": lambda: approval_card(
        s.request(state=RequestState.APPROVED, auto_approved=True, options=RunOptions(preview=True))
    ),
    "deny_reason_modal": lambda: deny_reason_modal(42, card=MessageRef(channel="C0APPROVE", ts="1741096920.000100")),
    "status_message": lambda: status_message(s.running(), names={100: "PC-ACME-000", 101: "PC-ACME-001"}),
    "status_message_unavailable": lambda: status_message(s.approved(), names={}, immybot_unavailable=True),
    "final_summary": lambda: final_summary(s.finished(), s.results(3), s.BASE_URL),
    "summary_csv": lambda: summary_csv(s.results(2)),
    "help_message": help_message,
    "status_card": lambda: status_card(ComputerStatus("PC-ACME-01", "Acme Ltd", True, "alice@example.com", 5001,
                                                      "Passed")),
    "matches_list": lambda: matches_list("acme", ["PC-ACME-01", "PC-ACME-02"]),
    "requests_list": lambda: requests_list([s.request(), s.denied()]),
    "audit_list": lambda: audit_list(AUDIT_ROWS),
    "refusal": lambda: refusal("Only approvers may see the audit log."),
    "home_requester": lambda: home_view([s.request(), s.finished()], None),
    "home_approver": lambda: home_view([s.approved()], [s.request(), s.request(id=43, requester="U0CAROL")]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_view_matches_snapshot(name: str) -> None:
    assert_snapshot(name, CASES[name]())


def test_builders_are_deterministic() -> None:
    for name, build in CASES.items():
        assert build() == build(), name
