"""The running bot posts audit checkpoints (SPEC §10) to the approval channel over real HTTP: when the head
moved and AUDIT_CHECKPOINT_MINUTES (fractions allowed) passed, the first at once, never when the head did
not move, and at shutdown."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bot.slack.checkpoints import CHECKPOINT_EVENT
from immybot_slack_sandbox.slack import FakeSlack
from tests.slack_e2e.conftest import APPROVE, DIRECT_APPROVER, World, world_of
from tests.slack_e2e.flows import request_via_modal, wait_state


def _checkpoints(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    found = []
    for message in fake.messages(channel):
        metadata = message.metadata or {}
        if metadata.get("event_type") == CHECKPOINT_EVENT:
            payload = metadata["event_payload"]
            assert message.text == f"Audit checkpoint: row {payload['row']}, hash {payload['hash']}"
            assert message.user == fake.bot_user_id
            found.append(payload)
    return found


async def _head(world: World) -> dict[str, Any]:
    last = (await world.audit())[-1]
    return {"row": last["id"], "hash": last["hash"]}


async def _approve(world: World, request_id: int, *, until: str = "approved") -> None:
    card = world.approval_card(request_id)
    await world.driver.click(DIRECT_APPROVER, card.channel, card.ts, APPROVE)
    await wait_state(world, request_id, *({until, "finished"}), timeout=20)


async def test_posted_when_the_head_moved_and_the_minutes_passed(tmp_path: Path) -> None:
    async with world_of(tmp_path, audit_checkpoint_minutes=0.004) as world:  # 0.24 s
        channel = world.ws.approval_channel
        checkpointer = world.bot.services.checkpoints
        assert await checkpointer.tick() is None and _checkpoints(world.fake, channel) == []  # empty log

        request = await request_via_modal(world, world.ws.requester)
        first = await _head(world)
        await world.fake.wait_until(lambda: first in _checkpoints(world.fake, channel))

        await _approve(world, request.id, until="finished")  # sessions run and finish: the head moves on
        await world.fake.wait_until(lambda: world.bot.services.follower.idle)
        moved = await _head(world)
        await world.fake.wait_until(lambda: _checkpoints(world.fake, channel)[-1:] == [moved] or None)
        posted = len(_checkpoints(world.fake, channel))
        assert await checkpointer.tick() is None  # the head did not move: nothing to post, however long ago
        assert len(_checkpoints(world.fake, channel)) == posted
        assert [c["row"] for c in _checkpoints(world.fake, channel)] == sorted({
            c["row"] for c in _checkpoints(world.fake, channel)})  # one per head, oldest first


async def test_the_interval_holds_and_the_head_is_posted_at_shutdown(tmp_path: Path) -> None:
    async with world_of(tmp_path, audit_checkpoint_minutes=60, audit_checkpoint_channel="C0OPS") as world:
        fake, channel = world.fake, world.ws.ops_channel
        request = await request_via_modal(world, world.ws.requester)
        first = await _head(world)
        await fake.wait_until(lambda: first in _checkpoints(fake, channel))  # the first one at once
        assert _checkpoints(fake, world.ws.approval_channel) == []  # AUDIT_CHECKPOINT_CHANNEL was honoured

        await _approve(world, request.id)
        assert await world.bot.services.checkpoints.tick() is None  # moved, but 60 minutes have not passed
        assert _checkpoints(fake, channel) == [first]
        db = world.settings.audit_db
    with sqlite3.connect(db) as conn:
        row, digest = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    assert _checkpoints(fake, channel) == [first, {"row": row, "hash": digest}]  # posted at shutdown
    assert row > first["row"]
