"""A preview's record (SPEC §8) on both backends: its sessions apart from the run's, its audit rows."""

from __future__ import annotations

from bot.workflow.model import SessionInfo
from bot.workflow.preview import ComputerPreview, PreviewState, Verdict
from bot.workflow.previewing import PreviewLedger
from bot.workflow.service import RequestService
from tests.workflow.factories import APPROVER, Clock, make_draft


async def test_preview_sessions_never_count_as_the_runs(svc_store: tuple[RequestService, object], clock: Clock) -> None:
    service, store = svc_store
    ledger = PreviewLedger(store, clock=clock)  # type: ignore[arg-type]
    request = await service.submit(make_draft())
    begun = await ledger.begin(request.id)
    assert begun is not None and begun.preview is not None and begun.preview.group_id
    assert await ledger.begin(request.id) is None  # once per request
    await ledger.record_started(request.id, [SessionInfo(session_id=900, computer_id=1)])
    await ledger.record_started(request.id, [SessionInfo(session_id=900, computer_id=1)])  # a replay: no row
    await ledger.update_session(request.id, 900, "Running")
    await service.approve(request.id, APPROVER)
    await service.begin_start(request.id)
    running = await service.record_started(request.id, [SessionInfo(session_id=901, computer_id=1)])
    assert [s.session_id for s in running.sessions] == [901]
    await ledger.update_session(request.id, 900, "Cancelled")
    verdict = ComputerPreview(computer_id=1, computer_name="PC-1", verdict=Verdict.PENDING)
    ended = await ledger.finish(request.id, PreviewState.PARTIAL, [verdict])
    assert ended is not None and ended.state.value == "running"  # a preview's end never moves the request
    assert await ledger.finish(request.id, PreviewState.FINISHED, []) is None  # ended once
    stored = await service.get(request.id)
    assert [(s.session_id, s.status) for s in stored.preview_sessions] == [(900, "Cancelled")]
    assert [s.session_id for s in stored.sessions] == [901]
    assert stored.preview is not None and stored.preview.state is PreviewState.PARTIAL
    assert stored.preview.computers == (verdict,)
    rows = await service.audit_rows(request_id=request.id)
    previews = [(r["event"], r["immybot_session_ids"], r["outcome"]) for r in rows if r["event"].startswith("preview")]
    assert previews == [("preview.started", [900], None), ("preview.finished", [900], "partial: 1 no answer yet")]
