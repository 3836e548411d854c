"""SIGKILL the bot (a child process) mid-start and mid-follow; a restart starts nothing twice and
posts exactly one summary."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from bot.store import Store
from bot.workflow.model import Outcome, Request, RequestState
from bot.workflow.service import RequestService
from immybot_slack_sandbox.immy_sandbox import ImmySandbox
from immybot_slack_sandbox.slack import FakeSlack
from tests.conftest import REPO
from tests.follower.conftest import (
    APPROVAL_CHANNEL,
    post_cards,
    seed_slack,
    slack_client,
)
from tests.follower.conftest import Rig as _Rig
from tests.workflow.factories import APPROVER, make_policy

RUN = "/api/v1/run-immy-service"


@contextmanager
def bot_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as sink:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.follower.crash_child"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=sink,
        )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)


def kill(child: subprocess.Popen[bytes]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)


async def wait_for(condition, timeout: float = 20.0, what: str = "condition"):  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout} s")
        await asyncio.sleep(0.05)
    return result


class World:
    def __init__(self, slack: FakeSlack, immy: ImmySandbox, service: RequestService, env: dict[str, str], tmp: Path):
        self.slack, self.immy, self.service, self.env, self.tmp = slack, immy, service, env, tmp
        self.client = slack_client(slack)
        self.log = tmp / "bot.log"

    @property
    def fake(self):  # type: ignore[no-untyped-def]
        return self.immy.immybot

    async def approved(self, computer_count: int) -> Request:
        rows = self.fake.data.computers[:computer_count]
        from bot.workflow.model import Computer

        computers = [Computer(id=r["id"], name=r["computerName"]) for r in rows]
        request = await post_cards(self.service, self.client, computers)
        return await self.service.approve(request.id, APPROVER)

    async def finished(self, request_id: int, timeout: float = 30.0) -> Request:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while True:
            request = await self.service.get(request_id)
            if request.state is RequestState.FINISHED and request.reported and _Rig.summaries(self, request):  # type: ignore[arg-type]
                return request
            if time.monotonic() > deadline:
                raise TimeoutError(f"#{request_id} is {request.state.value}; log:\n{self.log.read_text()[-3000:]}")
            await asyncio.sleep(0.05)

    thread = _Rig.thread
    summaries = _Rig.summaries

    def run_calls(self) -> list:  # type: ignore[type-arg]
        return self.fake.requests_to(RUN, "POST")


@asynccontextmanager
async def world(tmp_path: Path, immy: ImmySandbox) -> AsyncIterator[World]:
    slack = FakeSlack()
    seed_slack(slack)
    async with slack.serve():
        store = await Store.open(tmp_path / "audit.db")
        service = RequestService(store, make_policy())
        env = {
            **os.environ,
            **immy.env,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": "crash-test-signing-secret",
            "SLACK_API_URL": slack.api_url,
            "APPROVAL_CHANNEL": APPROVAL_CHANNEL,
            "APPROVERS": APPROVER,
            "AUDIT_DB": str(tmp_path / "audit.db"),
            "SESSION_POLL_SECONDS": "0.2",
            "PORT": "0",
            "LOG_FORMAT": "text",
            "LOG_LEVEL": "INFO",
        }
        env.pop("IMMYBOT_SUBDOMAIN", None)
        try:
            yield World(slack, immy, service, env, tmp_path)
        finally:
            await store.close()


async def test_killed_while_run_immy_service_is_in_flight_starts_once(tmp_path: Path, immy: ImmySandbox) -> None:
    async with world(tmp_path, immy) as w:
        computers = w.fake.data.computers[:3]
        for row in computers:
            w.fake.script_computer(row["id"], ["Created", "Running", "Passed"])
        w.fake.faults.latency(1.0, RUN)  # ImmyBot is slow to answer the start
        request = await w.approved(3)
        with bot_process(w.env, w.log) as child:
            await wait_for(lambda: w.run_calls(), what="the POST reaching ImmyBot")
            kill(child)  # after approval, before run-immy-service answered
        assert (await w.service.get(request.id)).state is RequestState.STARTING
        await asyncio.sleep(1.5)  # ImmyBot finished processing the POST nobody heard back from
        w.fake.faults.clear()
        assert len(w.fake.sessions) == 3
        with bot_process(w.env, w.log):
            done = await w.finished(request.id)

        assert len(w.run_calls()) == 1  # found by sessionGroupId: not sent again
        for row in computers:
            assert len([s for s in w.fake.sessions.values() if s.computer["id"] == row["id"]]) == 1
        assert sorted(s.session_id for s in done.sessions) == sorted(w.fake.sessions)
        assert done.outcome is Outcome.PASSED
        assert len(w.summaries(done)) == 1
        events = [r["event"] for r in await w.service.audit_rows(request_id=request.id)]
        assert events.count("sessions.started") == 1 and events.count("request.finished") == 1


async def test_killed_before_immybot_processed_the_post_starts_once(tmp_path: Path, immy: ImmySandbox) -> None:
    """The restart's lookup comes first and finds nothing; the late first POST meets the second one's
    sessions and starts nothing new (ImmyBot answers them as already in progress)."""
    async with world(tmp_path, immy) as w:
        computers = w.fake.data.computers[:2]
        for row in computers:
            w.fake.script_computer(row["id"], ["Created", *["Running"] * 40, "Passed"])
        w.fake.faults.latency(3.0, RUN)
        request = await w.approved(2)
        with bot_process(w.env, w.log) as child:
            await wait_for(lambda: w.run_calls(), what="the POST reaching ImmyBot")
            kill(child)
        late_post_done = time.monotonic() + 3.5
        w.fake.faults.clear()
        with bot_process(w.env, w.log):
            done = await w.finished(request.id, timeout=40)
        await asyncio.sleep(max(0.0, late_post_done - time.monotonic()))
        assert len(w.run_calls()) == 2  # nothing was found by group id, so it was sent again
        for row in computers:
            assert len([s for s in w.fake.sessions.values() if s.computer["id"] == row["id"]]) == 1
        assert done.outcome is Outcome.PASSED
        assert len(w.summaries(done)) == 1


async def test_killed_while_sessions_run_resumes_and_reports_once(tmp_path: Path, immy: ImmySandbox) -> None:
    async with world(tmp_path, immy) as w:
        computers = w.fake.data.computers[:3]
        for n, row in enumerate(computers):
            w.fake.script_computer(row["id"], ["Created", *["Running"] * (8 + 2 * n), "Passed" if n else "Failed"])
        request = await w.approved(3)
        with bot_process(w.env, w.log) as child:
            await wait_for(lambda: len(w.fake.requests_to("/api/v1/maintenance-sessions/*", "GET")) >= 6,
                           what="sessions being polled")  # fmt: skip
            running = await w.service.get(request.id)
            assert running.state is RequestState.RUNNING
            await wait_for(lambda: w.thread(running), what="the status message")
            kill(child)
        with bot_process(w.env, w.log):
            done = await w.finished(request.id)

        assert len(w.run_calls()) == 1
        assert len(w.fake.sessions) == 3
        assert done.outcome is Outcome.PARTIAL
        assert len(w.summaries(done)) == 1
        assert len(w.thread(done)) == 2  # one status message (edited across the restart) + the summary
        finished = [r for r in await w.service.audit_rows(request_id=request.id) if r["event"] == "session.finished"]
        assert len(finished) == 3
