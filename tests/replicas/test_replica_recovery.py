"""Recovery across replicas (SPEC §9), with two real bot processes on one PostgreSQL database:
- a replica restarted while the other posts a summary or starts a run does not do it a second time;
- a replica SIGKILLed mid-summary has it posted once by the other;
- a replica SIGKILLed mid-start (before its POST went through, or with the POST in flight) is resumed by the
  other within two leases, with one run;
- a replica SIGKILLed while it follows a preview leaves the preview to the other, which finishes it once;
- an approval on the replica that does not follow the preview still cancels the preview's sessions before
  the real run's POST."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.slack.requests import ids
from bot.store.pg.audit_cli import verify_url
from bot.workflow.model import RequestState
from bot.workflow.preview import PreviewState
from immybot_slack_sandbox.immy_faults import Fault
from tests.replicas.conftest import LEASE_SECONDS, Replica, Replicas, replicas, wait_for
from tests.replicas.test_two_replicas import _get, held_by, wait_for_state
from tests.slack_e2e.conftest import APPROVE, DIRECT_APPROVER
from tests.slack_e2e.flows import computer_ids, request_via_modal

pytestmark = pytest.mark.asyncio(loop_scope="function")

RUN = "/api/v1/run-immy-service"


def _script(world: Replicas, count: int, running_polls: int) -> None:
    for row in world.immy.immybot.data.computers[:count]:
        world.immy.immybot.script_computer(row["id"], ["Created", *["Running"] * running_polls, "Passed"])


async def _submit_and_approve(world: Replicas, count: int, *, on: int) -> int:
    request = await request_via_modal(world.on(0), world.ws.requester,
                                      **{ids.COMPUTERS_BLOCK: computer_ids(world, count)})  # type: ignore[arg-type]
    card = world.approval_card(request.id)
    answer = await world.on(on).driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
    assert answer.status == 200
    return request.id


async def _lease_owner(world: Replicas, prefix: str) -> str:
    async def owner() -> str | None:
        async with world.store.read() as tx:
            cursor = await tx.conn.execute("SELECT result FROM dedup WHERE starts_with(key, %s)", (prefix,))
            row = await cursor.fetchone()
        return str(row[0]) if row else None

    for _ in range(400):
        if found := await owner():
            return found
        await asyncio.sleep(0.05)
    raise TimeoutError(f"nobody took a {prefix} lease")


def _index_of(world: Replicas, owner: str) -> int:
    pid = int(owner.split(":")[1])  # a replica is named host:pid:random
    return next(n for n, r in enumerate(world.replicas) if r.process.pid == pid)


def _run_posts(world: Replicas) -> list[object]:
    return [c for c in world.run_calls() if not (c.json or {}).get("detectionOnly")]  # type: ignore[attr-defined]


async def test_a_replica_restarted_while_the_other_posts_the_summary_posts_none(tmp_path: Path, pg_url: str) -> None:
    async with replicas(tmp_path, pg_url) as world:
        _script(world, 2, running_polls=3)
        request_id = await _submit_and_approve(world, 2, on=1)
        running = await wait_for_state(world, request_id, RequestState.RUNNING)
        await wait_for(lambda: world.thread(running)[1:], what="the status message")
        world.fake.latency("chat.postMessage", 12.0)  # the summary's post hangs in flight (under the client's 15 s)
        poster = _index_of(world, await _lease_owner(world, "lease:summary:"))
        await wait_for_state(world, request_id, RequestState.FINISHED)
        await world.restart(1 - poster)
        await asyncio.sleep(LEASE_SECONDS)  # the restarted replica's recovery ticks meanwhile (first at once)
        request = await world.service.get(request_id)
        assert request.reported and not world.summaries(request)  # still posting: the race was on
        world.fake.clear_faults()
        done = await world.finished(request_id)
        await asyncio.sleep(6 * LEASE_SECONDS)  # a second post, were there one, would land meanwhile

        assert len(world.summaries(done)) == 1
        assert len(_run_posts(world)) == 1


async def test_a_replica_killed_mid_summary_leaves_it_to_the_other_which_posts_it_once(
    tmp_path: Path, pg_url: str
) -> None:
    async with replicas(tmp_path, pg_url) as world:
        _script(world, 2, running_polls=3)
        request_id = await _submit_and_approve(world, 2, on=1)
        running = await wait_for_state(world, request_id, RequestState.RUNNING)
        await wait_for(lambda: world.thread(running)[1:], what="the status message")
        world.fake.fail("chat.postMessage", "internal_error")  # the summary is claimed, Slack refuses it for now
        poster = _index_of(world, await _lease_owner(world, "lease:summary:"))
        for _ in range(400):
            if (await world.service.get(request_id)).reported:
                break
            await asyncio.sleep(0.05)
        world.replicas[poster].kill()  # mid-summary: claimed, nothing posted, nobody restarts it
        world.fake.clear_faults()
        done = await world.finished(request_id, timeout=8 * LEASE_SECONDS)
        await asyncio.sleep(2 * LEASE_SECONDS)  # a second one, were there one, would land meanwhile

        assert len(world.summaries(done)) == 1
        survivor = world.replicas[1 - poster]
        assert 'immybot_slack_recoveries_total{work="summary"} 1.0' in (await _get(survivor.url, "/metrics")).text


async def test_a_replica_restarted_while_the_other_starts_the_run_posts_no_second_run(
    tmp_path: Path, pg_url: str
) -> None:
    async with replicas(tmp_path, pg_url) as world:
        _script(world, 2, running_polls=3)
        world.immy.immybot.faults.latency(6 * LEASE_SECONDS, RUN)  # the run POST hangs in flight
        request_id = await _submit_and_approve(world, 2, on=0)
        await wait_for(lambda: world.run_calls(), what="the run POST")
        starter = _index_of(world, await _lease_owner(world, "lease:start:"))
        await world.restart(1 - starter)
        await asyncio.sleep(2 * LEASE_SECONDS)  # the restarted replica's recovery ticks meanwhile
        assert (await world.service.get(request_id)).state is RequestState.STARTING  # the race was on
        done = await world.finished(request_id)

        assert len(_run_posts(world)) == 1
        assert len(world.summaries(done)) == 1
        events = [r["event"] for r in await world.service.audit_rows(request_id=request_id)]
        assert events.count("sessions.started") == 1 and events.count("request.finished") == 1


async def test_a_replica_killed_after_its_post_went_out_is_resumed_without_a_second_post(
    tmp_path: Path, pg_url: str
) -> None:
    async with replicas(tmp_path, pg_url, LEASE_SECONDS="3") as world:
        _script(world, 2, running_polls=3)
        world.immy.immybot.faults.latency(0.5, RUN)  # ImmyBot creates the sessions half a second after the POST
        request_id = await _submit_and_approve(world, 2, on=0)
        await wait_for(lambda: world.run_calls(), what="the run POST")
        starter = _index_of(world, await _lease_owner(world, "lease:start:"))
        world.replicas[starter].kill()  # the POST is in flight: the sessions start, nobody records them
        done = await world.finished(request_id, timeout=60)

        assert len(_run_posts(world)) == 1  # the survivor found them by the group id
        assert len(done.sessions) == 2 and len(world.summaries(done)) == 1
        assert (await verify_url(pg_url)).ok


async def test_a_replica_killed_before_its_post_went_through_is_resumed_with_one_run(
    tmp_path: Path, pg_url: str
) -> None:
    async with replicas(tmp_path, pg_url) as world:
        _script(world, 2, running_polls=3)
        world.immy.immybot.faults.next(RUN, Fault.server_error(503))  # the first POST fails: the starter backs off
        request_id = await _submit_and_approve(world, 2, on=0)
        await wait_for(lambda: world.run_calls(), what="the run POST")
        starter = _index_of(world, await _lease_owner(world, "lease:start:"))
        world.replicas[starter].kill()  # claimed, starting, nothing started in ImmyBot
        done = await world.finished(request_id, timeout=60)

        started = _run_posts(world)
        assert len(started) == 2  # the failed one, then the survivor's
        groups = {s.body.get("sessionGroupId") for s in world.immy.immybot.sessions.values()}
        assert len(world.immy.immybot.sessions) == 2 and len(groups) == 1  # one run of two sessions
        assert len(done.sessions) == 2 and len(world.summaries(done)) == 1
        events = [r["event"] for r in await world.service.audit_rows(request_id=request_id)]
        assert events.count("sessions.started") == 1
        survivor = world.replicas[1 - starter]
        assert 'immybot_slack_recoveries_total{work="start"} 1.0' in (await _get(survivor.url, "/metrics")).text


async def _pinned_preview(world: Replicas, count: int) -> tuple[int, set[int], Replica, int]:
    """Submit with the preview on; its sessions stay Running (until the test says) on a known holder."""
    request = await request_via_modal(world.on(0), world.ws.requester,
                                      **{ids.COMPUTERS_BLOCK: computer_ids(world, count)})  # type: ignore[arg-type]
    fake = world.immy.immybot

    def previews() -> set[int]:
        return {sid for sid, s in fake.sessions.items() if s.body.get("detectionOnly")}

    found = await wait_for(lambda: len(previews()) == count and previews(), what="the preview sessions")
    for session_id in found:
        fake.set_session_status(session_id, "Running")
    holders = await held_by(world, request.id)
    assert len(holders) == 1, holders
    holder = _index_of(world, holders.pop())
    return request.id, set(found), world.replicas[holder], holder


async def test_a_replica_killed_while_following_a_preview_leaves_it_to_the_other(tmp_path: Path, pg_url: str) -> None:
    async with replicas(tmp_path, pg_url, PREVIEW_BEFORE_APPROVAL="true") as world:
        request_id, preview_ids, holder, index = await _pinned_preview(world, 2)
        holder.kill()
        await wait_for(lambda: "took preview session" in world.log.read_text(), timeout=4 * LEASE_SECONDS,
                       what="a preview takeover")  # fmt: skip
        for session_id in preview_ids:
            world.immy.immybot.set_session_status(session_id, "Passed")

        async def previewed() -> bool:
            request = await world.service.get(request_id)
            return request.preview is not None and request.preview.state is not PreviewState.RUNNING

        for _ in range(600):
            if await previewed():
                break
            await asyncio.sleep(0.05)
        request = await world.service.get(request_id)
        assert request.preview is not None and request.preview.state is PreviewState.FINISHED
        events = [r["event"] for r in await world.service.audit_rows(request_id=request_id)]
        assert events.count("preview.started") == 1 and events.count("preview.finished") == 1
        card = world.approval_card(request_id)
        await world.on(1 - index).driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
        done = await world.finished(request_id)

        assert len(_run_posts(world)) == 1 and len(world.summaries(done)) == 1
        assert not preview_ids & {s.session_id for s in done.sessions}


async def test_an_approval_on_the_other_replica_cancels_the_preview_before_the_real_post(
    tmp_path: Path, pg_url: str
) -> None:
    async with replicas(tmp_path, pg_url, PREVIEW_BEFORE_APPROVAL="true") as world:
        request_id, preview_ids, _, index = await _pinned_preview(world, 2)
        card = world.approval_card(request_id)
        await world.on(1 - index).driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
        done = await world.finished(request_id)

        calls = world.immy.immybot.requests
        run_post = next(n for n, c in enumerate(calls)
                        if c.path == RUN and not (c.json or {}).get("detectionOnly"))  # fmt: skip
        cancelled = {int(c.path.split("/")[-2]) for c in calls[:run_post] if c.path.endswith("/cancel")}
        assert preview_ids <= cancelled  # every preview session was cancelled before the real POST
        assert len(_run_posts(world)) == 1 and len(world.summaries(done)) == 1
        assert not preview_ids & {s.session_id for s in done.sessions}
        events = [r["event"] for r in await world.service.audit_rows(request_id=request_id)]
        assert events.count("preview.finished") == 1
