"""The follower's steady state is cheap: a poll that sees no change writes nothing and edits nothing,
first polls are spread over an interval, and a handful of ImmyBot calls at most are in flight."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.workflow.model import RequestState
from tests.follower.conftest import Rig

POLL = 0.2


@pytest.fixture
def follower_options() -> dict[str, Any]:
    return {"poll_seconds": POLL, "poll_cap": POLL}


def _status_gets(rig: Rig) -> list[Any]:
    return [r for r in rig.fake.requests if r.method == "GET" and "/maintenance-sessions/" in r.path]


async def test_polls_without_a_change_write_nothing_and_edit_nothing(rig: Rig) -> None:
    computers = rig.computers(12)
    for computer in computers:
        rig.fake.script_computer(computer.id, ["Running"] * 500)
    request = await rig.approved(computers)
    for _ in range(200):
        current = await rig.service.get(request.id)
        if current.state is RequestState.RUNNING and len(_status_gets(rig)) >= 12:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the throttled status-message edit has gone out
    rows, slack_calls, polls = len(await rig.service.audit_rows()), len(rig.slack.calls()), len(_status_gets(rig))

    await asyncio.sleep(4 * POLL)

    assert len(_status_gets(rig)) >= polls + 12 * 2  # still polling every session...
    assert len(await rig.service.audit_rows()) == rows  # ...but nothing written
    assert len(rig.slack.calls()) == slack_calls  # ...and nothing edited


async def test_first_polls_are_spread_over_an_interval_and_few_calls_are_in_flight(rig: Rig) -> None:
    computers = rig.computers(40)
    for computer in computers:
        rig.fake.script_computer(computer.id, ["Running"] * 500)
    in_flight = 0
    most = 0
    original = rig.immy_client._http.request

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await original(*args, **kwargs)
        finally:
            in_flight -= 1

    rig.immy_client._http.request = counting  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    await rig.approved(computers)
    started = loop.time()
    seen: dict[int, float] = {}
    while len(seen) < 40 and loop.time() - started < 10:
        for r in _status_gets(rig):
            seen.setdefault(int(r.path.rstrip("/").split("/")[-1]), loop.time())
        await asyncio.sleep(0.01)
    firsts = sorted(seen.values())
    assert len(firsts) == 40
    assert firsts[-1] - firsts[0] >= 0.4 * POLL  # not one burst: spread across the first interval
    assert most <= 4
