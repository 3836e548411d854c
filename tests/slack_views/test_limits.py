"""Block Kit limits hold for hostile and huge inputs, and user text is always escaped."""

from __future__ import annotations

import csv
import io
import json

from bot.slack.approvals.views import approval_card, deny_reason_modal
from bot.slack.commands.views import matches_list, refusal, requests_list
from bot.slack.home.views import home_view
from bot.slack.reports.views import final_summary, status_message, summary_csv
from bot.slack.requests.views import computer_options, request_card, request_modal, software_options
from bot.slack.text import clip, escape, hhmm, mention, plural, truncate
from bot.workflow.model import Catalog, Computer, SessionInfo, Software, Targets
from immybot_slack_sandbox.slack_validate import check_message, check_options, check_view
from tests.slack_views import samples as s

HOSTILE = "<script>alert(1)</script> <!channel> <@U0BOSS> & <https://evil.example|click me>"
LONG_NAME = "Microsoft Visual C++ 2015-2022 Redistributable (x64) " * 8


def _texts(blocks: list[dict]) -> str:
    return json.dumps(blocks)


def test_text_helpers() -> None:
    assert escape("a & <b>") == "a &amp; &lt;b&gt;"
    assert truncate("abcdef", 4) == "abc…" and truncate("abc", 4) == "abc"
    assert plural(1, "computer") == "1 computer" and plural(2, "computer") == "2 computers"
    assert hhmm(s.DECIDED) == "14:02 UTC"
    assert mention("U0BOB") == "<@U0BOB>" and mention("system") == "system"
    clipped = clip("&" * 50, 20)
    assert len(clipped) <= 20 and clipped.endswith("…") and "&amp…" not in clipped.replace("&amp;", "")


def test_user_text_is_escaped_everywhere() -> None:
    hostile = s.request(
        reason=HOSTILE,
        software=Software(id=1, name=HOSTILE, catalog=Catalog.LOCAL),
        targets=Targets(computers=(Computer(id=1, name=HOSTILE),), email="a<b>@example.com"),
    )
    rendered = [request_card(hostile), approval_card(hostile), requests_list([hostile]), refusal(HOSTILE),
                matches_list(HOSTILE, [HOSTILE])]
    denied = s.denied().model_copy(update={"decision_reason": HOSTILE})
    rendered += [request_card(denied), approval_card(denied)]
    for text, blocks in rendered:
        dumped = text + _texts(blocks)
        assert "<script>" not in dumped and "<!channel>" not in dumped and "<@U0BOSS>" not in dumped
        assert "<https://evil" not in dumped
        assert "&lt;script&gt;" in dumped or "&lt;!channel&gt;" in dumped
        check_message(text, blocks, where="test")
    home = home_view([hostile], [hostile])
    assert "<script>" not in json.dumps(home)
    check_view(home, where="home")


def test_long_software_names_fit_option_limits() -> None:
    items = [Software(id=i, name=f"{LONG_NAME}{i}", catalog=Catalog.GLOBAL) for i in range(250)]
    options = software_options(items)
    assert len(options) == 100
    check_options(options, "software")
    assert all(o["text"]["text"].endswith(" · Global") for o in options)
    rows = [(i, LONG_NAME, "A tenant with a very long name indeed, longer than most", i % 2 == 0) for i in range(150)]
    computers = computer_options(rows)
    assert len(computers) == 100
    check_options(computers, "computers")
    assert computers[0]["text"]["text"].endswith(" · online")


def test_two_hundred_computers_and_long_reason() -> None:
    big = s.request(targets=Targets(computers=s.computers(200)), reason="x" * 1000,
                    software=Software(id=1, name=LONG_NAME, catalog=Catalog.GLOBAL))
    for text, blocks in (request_card(big), approval_card(big)):
        check_message(text, blocks, where="big")
        assert "and 180 more" in _texts(blocks)
    running = big.model_copy(update={"sessions": [SessionInfo(session_id=i, computer_id=100 + i) for i in range(200)]})
    text, blocks = status_message(running, names={c.id: c.name for c in big.targets.computers})
    check_message(text, blocks, where="status")
    assert "and 180 more" in _texts(blocks)
    many = [big.model_copy(update={"id": i}) for i in range(1, 41)]
    home = home_view(many, many)
    check_view(home, where="home")
    assert "and 15 more waiting" in json.dumps(home)
    check_view(request_modal(channel_id="C0OPS", prefill="p" * 5000, max_targets=1000), where="modal")


def test_one_thousand_char_reason_with_ampersands_stays_in_section_limit() -> None:
    text, blocks = request_card(s.request(reason="&" * 1000))
    check_message(text, blocks, where="amp")
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)


def test_approve_asks_for_confirmation_only_past_five() -> None:
    five = approval_card(s.request(targets=Targets(computers=s.computers(5))))[1]
    six = approval_card(s.request(targets=Targets(computers=s.computers(6))))[1]
    assert "confirm" not in _texts(five) and '"confirm"' in _texts(six)
    decided = approval_card(s.approved())[1]
    assert not any(b["type"] == "actions" for b in decided)
    assert "Approved by <@U0BOB> at 14:02 UTC" in _texts(decided)


def test_deny_modal_carries_request_and_card() -> None:
    view = deny_reason_modal(42, card=None)
    assert json.loads(view["private_metadata"]) == {"request_id": 42}
    check_view(view, where="deny")


def test_final_summary_of_120_computers_splits_within_limits() -> None:
    results = s.results(120, failed=7)
    results[3] = results[3].model_copy(update={"failure_reason": "boom <b> & " * 400})
    messages = final_summary(s.finished(), results, s.BASE_URL, inline_limit=None)
    assert len(messages) == 3
    for text, blocks in messages:
        check_message(text, blocks, where="summary")
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    listed = sum("/computers/" in json.dumps(b) for _, blocks in messages for b in blocks)
    assert listed == 120
    assert messages[0][0].startswith("<@U0ALICE> #42 finished: 113 passed, 7 failed")


def test_long_summary_inlines_forty_and_points_at_the_csv() -> None:
    results = s.results(120, failed=7)
    messages = final_summary(s.finished(), results, s.BASE_URL)
    assert len(messages) == 1
    text, blocks = messages[0]
    check_message(text, blocks, where="summary")
    assert sum("/computers/" in json.dumps(b) for b in blocks) == 40
    assert "and 80 more" in json.dumps(blocks)
    rows = list(csv.DictReader(io.StringIO(summary_csv(results))))
    assert len(rows) == 120 and rows[0]["computer_name"] == "PC-ACME-000"
    assert set(rows[0]) == {"computer_id", "computer_name", "session_id", "status", "action", "detected_version",
                            "desired_version", "failure_reason", "already_in_progress"}


def test_csv_cells_never_become_formulas() -> None:
    bad = s.results(1)[0].model_copy(update={"computer_name": "=HYPERLINK(\"http://x\")", "failure_reason": "+1"})
    row = next(csv.DictReader(io.StringIO(summary_csv([bad]))))
    assert row["computer_name"].startswith("'=") and row["failure_reason"] == "'+1"
