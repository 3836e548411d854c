"""§6–§8 views within Slack's limits for huge and hostile inputs, checked as the fake Slack checks them."""

from __future__ import annotations

import csv
import io
import json

from bot.slack.approvals.preview_views import (
    MODAL_COMPUTERS,
    preview_csv,
    preview_details_modal,
    preview_needs_csv,
)
from bot.slack.approvals.views import approval_card, reminder_text
from bot.slack.reports import ids as report_ids
from bot.slack.reports.followup_views import LOG_LINE_MAX, log_file_text, log_message
from bot.slack.reports.views import final_summary
from bot.slack.requests.views import request_card, request_modal
from bot.workflow.model import Targets
from bot.workflow.preview import ComputerPreview, Preview, PreviewState, Verdict
from bot.workflow.schedule import Schedule
from immybot_slack_sandbox.slack_validate import check_message, check_view
from tests.slack_views import followup_samples as f
from tests.slack_views import samples as s

HOSTILE = "<script>alert(1)</script> <!channel> <@U0BOSS> & <https://evil.example|click me> ```"
LONG = "Microsoft Visual C++ 2015-2022 Redistributable (x64) " * 8


def _dump(blocks: list[dict]) -> str:
    return json.dumps(blocks)


def _actions(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks for e in ([b.get("accessory")] if b.get("accessory") else []) + b.get("elements", [])
            if e.get("type") in ("button", "static_select")]


def test_summary_with_fifty_failed_computers_keeps_every_show_log_within_fifty_blocks() -> None:
    results = s.results(50, failed=50)
    results[0] = results[0].model_copy(update={"computer_name": HOSTILE, "failure_reason": HOSTILE * 30})
    [(text, blocks)] = final_summary(s.finished(), results, s.BASE_URL, summary_id="9")
    check_message(text, blocks, where="summary")
    assert len(blocks) <= 50
    controls = _actions(blocks)
    retry = [c for c in controls if c.get("action_id") == report_ids.RETRY_ACTION]
    assert len(retry) == 1 and retry[0]["value"] == "42:9" and "Retry 50 failed" in retry[0]["text"]["text"]
    inline = [c["value"] for c in controls if c.get("action_id") == report_ids.SHOW_LOG_ACTION]
    picks = [o["value"] for c in controls if c.get("action_id") == report_ids.SHOW_LOG_PICK_ACTION
             for o in c["options"]]
    assert len(inline) == 40 and len(picks) == 10
    assert sorted(inline + picks) == sorted(f"42:{r.session_id}" for r in results)  # every failed one, once
    assert "<script>" not in _dump(blocks) and "<!channel>" not in _dump(blocks)


def test_summary_split_over_messages_keeps_buttons_under_the_limit() -> None:
    results = s.results(120, failed=60)
    messages = final_summary(s.finished(), results, s.BASE_URL, inline_limit=None, summary_id="9")
    for text, blocks in messages:
        check_message(text, blocks, where="summary")
    inline = [c for _, blocks in messages for c in _actions(blocks) if c["action_id"] == report_ids.SHOW_LOG_ACTION]
    assert len(inline) == 60


def test_a_thousand_failed_computers_still_fit() -> None:
    [(text, blocks)] = final_summary(s.finished(), s.results(1000, failed=1000), s.BASE_URL, summary_id="9")
    check_message(text, blocks, where="summary")
    assert "all but 860 failed computers" in _dump(blocks)


def test_no_buttons_without_a_summary_id_or_when_all_passed() -> None:
    [(_, plain)] = final_summary(s.finished(), s.results(3), s.BASE_URL)
    assert _actions(plain) == []
    [(_, passed)] = final_summary(s.finished(), s.results(3, failed=0), s.BASE_URL, summary_id="9")
    assert _actions(passed) == []


def test_hundred_preview_computers_fit_the_card_and_the_modal() -> None:
    computers = tuple(ComputerPreview(computer_id=i, computer_name=f"{HOSTILE}{i}" if i % 2 else LONG,
                                      verdict=list(Verdict)[i % len(Verdict)], detected_version=LONG,
                                      desired_version=HOSTILE * 5, reason=HOSTILE * 20) for i in range(100))
    preview = Preview(state=PreviewState.FINISHED, computers=computers)
    big = s.request(targets=Targets(computers=s.computers(100)), reason=HOSTILE * 20)
    text, blocks = approval_card(big, preview=preview, schedule=f.NO_TZ, rule_name=HOSTILE * 10,
                                 approvals_needed=3, approved_by=["U0BOB", "U0CAROL"])
    check_message(text, blocks, where="approval")
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert "All 100 computers" in _dump(blocks) and "and 80 more" in _dump(blocks)
    assert "<script>" not in _dump(blocks) and "<!channel>" not in _dump(blocks)
    modal = preview_details_modal(big, preview)
    check_view(modal, where="preview modal")
    assert len(json.dumps(modal)) < 250_000
    assert not preview_needs_csv(preview)


def test_a_thousand_preview_computers_point_at_the_csv() -> None:
    preview = f.preview(1000)
    modal = preview_details_modal(s.request(), preview)
    check_view(modal, where="preview modal")
    assert len(json.dumps(modal)) < 250_000 and f"and {1000 - MODAL_COMPUTERS} more" in json.dumps(modal)
    assert preview_needs_csv(preview)
    rows = list(csv.DictReader(io.StringIO(preview_csv(preview))))
    assert len(rows) == 1000 and rows[0]["verdict"] == "failed"
    bad = Preview(state=PreviewState.FINISHED, computers=(ComputerPreview(
        computer_id=1, computer_name="=cmd|' /C calc'!A0", verdict=Verdict.FAILED, reason="@SUM(1)"),))
    row = next(csv.DictReader(io.StringIO(preview_csv(bad))))
    assert row["computer_name"].startswith("'=") and row["reason"] == "'@SUM(1)"


def test_modal_with_when_inputs_stays_valid() -> None:
    check_view(request_modal(channel_id="C0OPS", prefill="p" * 5000, max_targets=1000), where="modal")


def test_cards_with_schedules_stay_valid() -> None:
    for schedule in (f.AT_TIME, f.NEXT_DAY, f.NO_TZ, f.AFTER_HOURS, Schedule.now()):
        check_message(*request_card(s.request(reason=HOSTILE), schedule=schedule), where="card")


def test_show_log_keeps_the_tail_escaped_and_flags_long_logs() -> None:
    lines = [f"line {i}: {HOSTILE}" for i in range(5000)] + ["x" * 10_000]
    shown = log_message(s.finished(), HOSTILE, 5001, lines)
    check_message(shown.text, shown.blocks, where="log")
    body = shown.blocks[0]["text"]["text"]
    assert len(body) <= 3000 and shown.too_long and shown.total == 5001 and 0 < shown.shown < 40
    assert body.count("```") == 2  # a log line cannot close the code block
    assert "<script>" not in body and "<!channel>" not in body and "x" * (LOG_LINE_MAX + 1) not in body
    assert body.rstrip("`\n").endswith("…")  # the last (longest) line is the one kept, cut
    assert log_file_text(lines).startswith("line 0:")
    short = log_message(s.finished(), "PC-1", 5001, f.LOG)
    assert not short.too_long and short.shown == short.total == 4


def test_reminders_mention_users_and_groups_only() -> None:
    text = reminder_text(s.request(), ["U0BOB", "S0LEADS", "<!here>", "W0ALSO", "U0BOB"], number=2, of=2)
    assert "<@U0BOB> <!subteam^S0LEADS> &lt;!here&gt; <@W0ALSO>," in text
