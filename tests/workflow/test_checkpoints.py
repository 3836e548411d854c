"""`Checkpointer.tick()`: when a checkpoint is due (SPEC §10), with the head and the clock in hand."""

from __future__ import annotations

import pytest

from bot.workflow.checkpoints import Checkpoint, Checkpointer, checkpoint_from_payload, parse_checkpoint


class Rig:
    def __init__(self) -> None:
        self.head: tuple[int, str] | None = (3, "c" * 64)
        self.now = 0.0
        self.posted: list[Checkpoint] = []
        self.down = False

    async def read_head(self) -> tuple[int, str] | None:
        return self.head

    async def post(self, checkpoint: Checkpoint) -> None:
        if self.down:
            raise ConnectionError("Slack is down")
        self.posted.append(checkpoint)


async def test_first_move_at_once_then_at_most_every_interval_and_final_at_close() -> None:
    rig = Rig()
    job = Checkpointer(rig.read_head, rig.post, every_seconds=60, clock=lambda: rig.now)
    await job.start()  # the head at start-up is known, not posted
    assert await job.tick() is None
    rig.head = (4, "d" * 64)
    assert await job.tick() == Checkpoint(4, "d" * 64)  # the first move after start-up: at once
    rig.head, rig.now = (5, "e" * 64), 59.0
    assert await job.tick() is None  # moved, interval not over
    rig.down, rig.now = True, 61.0
    with pytest.raises(ConnectionError):
        await job.tick()  # the loop logs it and tries again next round
    rig.down = False
    assert await job.tick() == Checkpoint(5, "e" * 64)
    rig.now = 10_000.0
    assert await job.tick() is None  # not moved: nothing, however long ago
    rig.head = (6, "f" * 64)
    rig.now = 10_001.0
    await job.aclose()  # the interval does not hold at shutdown
    assert [c.row for c in rig.posted] == [4, 5, 6]


async def test_close_without_start_posts_nothing() -> None:
    rig = Rig()
    await Checkpointer(rig.read_head, rig.post, every_seconds=60).aclose()
    assert rig.posted == []


def test_parsing() -> None:
    assert parse_checkpoint(f" 12:{'AB' * 32} ") == Checkpoint(12, "ab" * 32, "--checkpoint")
    for bad in ("12", f"0:{'a' * 64}", "x:abc", f"12:{'g' * 64}"):
        with pytest.raises(ValueError, match="ID:HASH"):
            parse_checkpoint(bad)
    assert checkpoint_from_payload({"row": 3, "hash": "a" * 64}) == Checkpoint(3, "a" * 64)
    for bad in (None, {"row": "3", "hash": "a" * 64}, {"row": True, "hash": "a" * 64}, {"row": 3, "hash": "zz"}):
        assert checkpoint_from_payload(bad) is None
