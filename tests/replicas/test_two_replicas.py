"""Two real bot processes on one PostgreSQL database (SPEC §9): started together on an empty database,
a request submitted on one and approved on the other, ten approvals over both → one run, a replica
SIGKILLed while it follows sessions → the other finishes them with one status message and one summary."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bot.slack.requests import ids
from bot.store.pg.audit_cli import verify_url
from bot.workflow.model import Outcome, RequestState
from tests.replicas.conftest import LEASE_SECONDS, Replicas, replicas, wait_for
from tests.slack_e2e.conftest import APPROVE, DIRECT_APPROVER
from tests.slack_e2e.flows import computer_ids, request_via_modal

pytestmark = pytest.mark.asyncio(loop_scope="function")


def _script(world: Replicas, count: int, running_polls: int) -> None:
    for n, row in enumerate(world.immy.immybot.data.computers[:count]):
        world.immy.immybot.script_computer(row["id"], ["Created", *["Running"] * running_polls,
                                                       "Passed" if n else "Failed"])  # fmt: skip


async def test_submitted_on_one_approved_on_the_other_and_ten_clicks_make_one_run(
    tmp_path: Path, pg_url: str
) -> None:
    async with replicas(tmp_path, pg_url) as world:
        _script(world, 2, running_polls=3)
        request = await request_via_modal(world.on(0), world.ws.requester,
                                          **{ids.COMPUTERS_BLOCK: computer_ids(world, 2)})  # type: ignore[arg-type]
        card = world.approval_card(request.id)
        clicks = [world.replicas[n % 2].driver.click(DIRECT_APPROVER if n % 3 else world.ws.approver,
                                                     card.channel, card.ts, APPROVE) for n in range(10)]  # fmt: skip
        answers = await asyncio.gather(*clicks)
        assert all(a.status == 200 for a in answers)
        done = await world.finished(request.id)

        assert len(world.run_calls()) == 1
        assert done.outcome is Outcome.PARTIAL
        assert len(world.summaries(done)) == 1
        assert len(world.thread(done)) == 3  # "Approved by …", one status message, one summary
        events = [r["event"] for r in await world.service.audit_rows(request_id=request.id)]
        assert events.count("request.approved") == 1 and events.count("sessions.started") == 1
        assert events.count("request.finished") == 1 and events.count("session.finished") == 2
        assert (await verify_url(pg_url)).ok


async def test_a_killed_replicas_sessions_are_finished_by_the_other(tmp_path: Path, pg_url: str) -> None:
    async with replicas(tmp_path, pg_url) as world:
        _script(world, 3, running_polls=60)  # ~12 s of Running at a 0.2 s poll
        request = await request_via_modal(world.on(0), world.ws.requester,
                                          **{ids.COMPUTERS_BLOCK: computer_ids(world, 3)})  # type: ignore[arg-type]
        card = world.approval_card(request.id)
        await world.on(1).driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
        running = await wait_for_state(world, request.id, RequestState.RUNNING)
        await wait_for(lambda: world.thread(running), what="the status message")
        holders = await held_by(world, request.id)
        healths = [await _get(r.url, "/healthz") for r in world.replicas]
        databases = [h.json()["components"]["database"] for h in healths]
        assert {d["backend"] for d in databases} == {"postgresql"}
        assert sorted(d["leases"] for d in databases) == [0, 3]  # the holder follows all three sessions
        assert len(holders) == 1, holders  # one replica follows the request's sessions
        holder_pid = int(holders.pop().split(":")[1])  # a replica is named host:pid:random
        victim = next(r for r in world.replicas if r.process.pid == holder_pid)
        victim.kill()  # SIGKILL: no release, its leases must run out
        await wait_for(lambda: "took session" in world.log.read_text(), timeout=4 * LEASE_SECONDS, what="a takeover")
        done = await world.finished(request.id)
        survivor = next(r for r in world.replicas if r is not victim)
        assert "immybot_slack_lease_takeovers_total 3.0" in (await _get(survivor.url, "/metrics")).text

        assert done.outcome is Outcome.PARTIAL
        assert len(world.run_calls()) == 1
        assert len(world.summaries(done)) == 1
        assert len(world.thread(done)) == 3  # the decision, one status message (the survivor edited it), the summary
        events = [r["event"] for r in await world.service.audit_rows(request_id=request.id)]
        assert events.count("session.finished") == 3 and events.count("request.finished") == 1
        assert (await verify_url(pg_url)).ok


async def wait_for_state(world: Replicas, request_id: int, state: RequestState):  # type: ignore[no-untyped-def]
    for _ in range(600):
        request = await world.service.get(request_id)
        if request.state is state:
            return request
        await asyncio.sleep(0.05)
    raise TimeoutError(f"#{request_id} never became {state.value}")


async def held_by(world: Replicas, request_id: int) -> set[str]:
    for _ in range(200):
        async with world.store.read() as tx:
            cursor = await tx.conn.execute(
                "SELECT DISTINCT owner FROM session_watch WHERE request_id = %s AND owner IS NOT NULL", (request_id,))
            owners = {str(row[0]) for row in await cursor.fetchall()}
        if owners:
            return owners
        await asyncio.sleep(0.05)
    return set()



async def _get(base: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(base.rstrip("/") + path)


async def test_a_replica_stopping_cleanly_hands_its_sessions_over_without_a_takeover(
    tmp_path: Path, pg_url: str
) -> None:
    async with replicas(tmp_path, pg_url) as world:
        _script(world, 2, running_polls=60)
        request = await request_via_modal(world.on(0), world.ws.requester,
                                          **{ids.COMPUTERS_BLOCK: computer_ids(world, 2)})  # type: ignore[arg-type]
        card = world.approval_card(request.id)
        await world.on(1).driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
        await wait_for_state(world, request.id, RequestState.RUNNING)
        holder_pid = int((await held_by(world, request.id)).pop().split(":")[1])
        leaving = next(r for r in world.replicas if r.process.pid == holder_pid)
        leaving.process.terminate()  # SIGTERM: the bot stops cleanly and gives its leases back
        assert await leaving.process.wait() == 0
        done = await world.finished(request.id)
        staying = next(r for r in world.replicas if r is not leaving)

        assert "immybot_slack_lease_takeovers_total 0.0" in (await _get(staying.url, "/metrics")).text
        assert len(world.summaries(done)) == 1 and len(world.thread(done)) == 3


async def test_a_cancel_asked_for_on_the_other_replica_reaches_the_holder(tmp_path: Path, pg_url: str) -> None:
    async with replicas(tmp_path, pg_url) as world:
        _script(world, 2, running_polls=400)  # runs until cancelled
        request = await request_via_modal(world.on(0), world.ws.requester,
                                          **{ids.COMPUTERS_BLOCK: computer_ids(world, 2)})  # type: ignore[arg-type]
        card = world.approval_card(request.id)
        await world.on(0).driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
        await wait_for_state(world, request.id, RequestState.RUNNING)
        holder_pid = int((await held_by(world, request.id)).pop().split(":")[1])
        other = next(n for n, r in enumerate(world.replicas) if r.process.pid != holder_pid)
        answer = await world.on(other).driver.slash(DIRECT_APPROVER, world.ws.ops_channel, f"cancel {request.id}")
        assert answer.status == 200
        done = await world.finished(request.id)

        cancels = world.immy.immybot.requests_to("/api/v1/maintenance-sessions/*/cancel")
        assert len(cancels) == 2
        assert {s.status for s in done.sessions} == {"Cancelled"}
        assert len(world.summaries(done)) == 1


async def test_with_the_preview_on_the_approval_card_one_real_run_across_replicas(tmp_path: Path, pg_url: str) -> None:
    """SPEC §8 on replicas: the replica that took the submission runs and shows the preview; the approval
    on the other replica starts the real run once, and no preview session is taken as the run's."""
    async with replicas(tmp_path, pg_url, PREVIEW_BEFORE_APPROVAL="true") as world:
        _script(world, 2, running_polls=3)
        request = await request_via_modal(world.on(0), world.ws.requester,
                                          **{ids.COMPUTERS_BLOCK: computer_ids(world, 2)})  # type: ignore[arg-type]
        events = await _wait_event(world, request.id, "preview.finished")
        assert events.count("preview.started") == 1
        card = world.approval_card(request.id)
        await world.on(1).driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
        done = await world.finished(request.id)

        bodies = [call.json for call in world.run_calls()]
        assert [bool(b.get("detectionOnly")) for b in bodies] == [True, False]  # one preview, then one real run
        assert len(world.summaries(done)) == 1
        preview_ids = {s.session_id for s in done.preview_sessions}
        assert preview_ids and not preview_ids & {s.session_id for s in done.sessions}
        assert (await verify_url(pg_url)).ok


async def _wait_event(world: Replicas, request_id: int, event: str, timeout: float = 30.0) -> list[str]:  # noqa: ASYNC109
    for _ in range(int(timeout / 0.1)):
        events = [r["event"] for r in await world.service.audit_rows(request_id=request_id)]
        if event in events:
            return events
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {event} for request {request_id}")
