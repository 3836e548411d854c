"""Preview verdicts and their summary line (SPEC §8); which computers a retry runs (SPEC §7)."""

from __future__ import annotations

from bot.workflow.model import SessionResult
from bot.workflow.preview import (
    ActionFacts,
    ComputerPreview,
    Preview,
    PreviewState,
    Verdict,
    computer_preview,
    counts,
    summary_line,
    verdict_for,
)
from bot.workflow.retry import did_not_pass


def _pc(name: str, verdict: Verdict) -> ComputerPreview:
    return ComputerPreview(computer_id=None, computer_name=name, verdict=verdict)


def _facts(action: str | None = None, *, status: str = "Passed", **fields: object) -> ActionFacts:
    return ActionFacts(computer_id=1, computer_name="PC-1", session_status=status, action_type=action,
                       **fields)  # type: ignore[arg-type]


def test_verdict_from_immybot_action_and_status() -> None:
    assert verdict_for(_facts("Install")) is Verdict.INSTALL
    assert verdict_for(_facts("Update")) is Verdict.UPDATE
    assert verdict_for(_facts("Downgrade")) is Verdict.UPDATE
    assert verdict_for(_facts("Reinstall")) is Verdict.UPDATE
    assert verdict_for(_facts("Uninstall")) is Verdict.UNINSTALL
    assert verdict_for(_facts("NoAction")) is Verdict.NOTHING
    assert verdict_for(_facts(None)) is Verdict.NOTHING
    assert verdict_for(_facts("Undetermined", action_status="Complete")) is Verdict.FAILED
    assert verdict_for(_facts("Install", status="Missed")) is Verdict.OFFLINE
    assert verdict_for(_facts(None, status="Failed", message="Device is offline")) is Verdict.OFFLINE
    assert verdict_for(_facts(None, status="Failed", message="detection script threw")) is Verdict.FAILED
    assert verdict_for(_facts(None, status="Running")) is Verdict.PENDING
    assert verdict_for(_facts("SomethingNew")) is Verdict.FAILED


def test_verdict_reads_immybot_reasons_in_order_of_trust() -> None:
    """The assertions the ImmyBot-side mapping had (moved here: the mapping lives once, in the domain)."""
    assert verdict_for(_facts("Undetermined", status="Failed", reason="DeviceOffline")) is Verdict.OFFLINE
    assert verdict_for(_facts("Undetermined", action_status="Skipped", computer_online=False)) is Verdict.OFFLINE
    assert verdict_for(_facts("Undetermined", result="Indeterminable")) is Verdict.FAILED
    assert verdict_for(_facts("Install", result_reason="DetectionActionFailed")) is Verdict.FAILED
    assert verdict_for(_facts("Install", status="Running", action_status="DeterminingAction")) is Verdict.PENDING
    assert verdict_for(_facts("NoAction", status="Running", action_status="DeterminingAction")) is Verdict.NOTHING
    assert verdict_for(_facts("Undetermined", status="Running", reason="UpToDate")) is Verdict.NOTHING
    assert verdict_for(_facts("Undetermined", status="Running", action_status="DeterminingAction")) is Verdict.PENDING
    failed = computer_preview(_facts("Undetermined", result="Failed", result_reason="DetectionActionFailed",
                                     message="script threw"))  # fmt: skip
    assert (failed.verdict, failed.reason) == (Verdict.FAILED, "script threw")
    unexplained = computer_preview(_facts("Undetermined", result="Failed"))
    assert unexplained.reason == "no reason given"
    update = computer_preview(_facts("Update", detected_version="1.0", desired_version="2.0"))
    assert (update.detected_version, update.desired_version, update.reason) == ("1.0", "2.0", None)


def test_summary_line_counts() -> None:
    computers = ([_pc(f"i{i}", Verdict.INSTALL) for i in range(8)] + [_pc(f"n{i}", Verdict.NOTHING) for i in range(3)]
                 + [_pc("off", Verdict.OFFLINE)])
    assert summary_line(computers) == "8 would install, 3 already up to date, 1 offline"
    assert counts([Verdict.FAILED, Verdict.UPDATE]) == [(Verdict.UPDATE, 1), (Verdict.FAILED, 1)]
    assert summary_line([]) == "no computers"
    assert summary_line([_pc("a", Verdict.PENDING), _pc("b", Verdict.FAILED)]) == "1 detection failed, 1 no answer yet"


def test_problems_come_first() -> None:
    preview = Preview(state=PreviewState.FINISHED, computers=(_pc("b", Verdict.NOTHING), _pc("a", Verdict.INSTALL),
                                                              _pc("z", Verdict.FAILED), _pc("c", Verdict.OFFLINE)))
    assert [c.computer_name for c in preview.ordered()] == ["z", "c", "a", "b"]


def test_retry_takes_every_computer_that_did_not_pass_once() -> None:
    def result(session: int, computer: int | None, status: str) -> SessionResult:
        return SessionResult(session_id=session, computer_id=computer, computer_name=f"PC{computer}", status=status)

    results = [result(1, 1, "Passed"), result(2, 2, "Failed"), result(3, 3, "PartialPassed"), result(4, 2, "Failed"),
               result(5, None, "TimedOut"), result(6, 4, "Cancelled")]
    assert [r.session_id for r in did_not_pass(results)] == [2, 3, 5, 6]
    assert did_not_pass([result(1, 1, "Passed")]) == []
