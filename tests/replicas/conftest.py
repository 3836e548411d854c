"""Two bot replicas as child processes on one PostgreSQL database (the tests start the server), with fake
Slack, fake Entra and fake ImmyBot over real HTTP; a Slack driver per replica (as a load balancer would
send one delivery to one of them)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.slack.reports.reporter import SUMMARY_EVENT
from bot.store.pg import PgStore
from bot.workflow.model import Request, RequestState
from bot.workflow.service import RequestService
from immybot_slack_sandbox.immy_data import generate
from immybot_slack_sandbox.immy_sandbox import ImmySandbox, immy_sandbox
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_seed import SeededWorkspace, seed_workspace
from immybot_slack_sandbox.slack_state import Message
from immybot_slack_sandbox.slack_user import SlackDriver
from tests.conftest import REPO
from tests.pg_server import pg_server, pg_url  # noqa: F401 - fixtures
from tests.slack_e2e.conftest import DIRECT_APPROVER, SECRET
from tests.workflow.factories import make_policy

LEASE_SECONDS = 2.0


@dataclass
class Replica:
    process: asyncio.subprocess.Process
    url: str
    driver: SlackDriver

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)


@dataclass
class Replicas:
    """Duck-types `tests.slack_e2e.conftest.World` for the e2e gestures in `tests.slack_e2e.flows`."""

    fake: FakeSlack
    ws: SeededWorkspace
    immy: ImmySandbox
    service: RequestService  # the test's own view of the database
    store: PgStore
    replicas: list[Replica]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    stack: contextlib.AsyncExitStack | None = None
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)  # every one started, to stop
    driver: SlackDriver = field(init=False)

    def __post_init__(self) -> None:
        self.driver = self.replicas[0].driver

    def on(self, n: int) -> Replicas:
        """Send the next gestures to replica `n`."""
        self.driver = self.replicas[n].driver
        return self

    async def restart(self, n: int) -> Replica:
        """Stop replica `n` cleanly (SIGTERM) and start a new process in its place, with the same settings
        (as an orchestrator rolls a replica: the new one starts while the old one is still shutting down)."""
        old = self.replicas[n]
        if old.process.returncode is None:
            old.process.terminate()
        return await self.replace(n)

    async def replace(self, n: int) -> Replica:
        """Start a new process in replica `n`'s place (after it was killed or stopped)."""
        assert self.stack is not None
        process = await _start(self.env, self.log)
        self.processes.append(process)
        url = await _ready(process, self.log)
        driver = await self.stack.enter_async_context(SlackDriver(self.fake, signing_secret=SECRET, bot_url=url))
        self.replicas[n] = Replica(process, url, driver)
        return self.replicas[n]

    def card_with(self, channel: str, request_id: int) -> Message:
        for message in reversed(self.fake.messages(channel)):
            if f"#{request_id}" in message.text or f"#{request_id}" in str(message.blocks):
                return message
        raise LookupError(f"no card of #{request_id} in {channel}")

    def approval_card(self, request_id: int) -> Message:
        return self.card_with(self.ws.approval_channel, request_id)

    def thread(self, request: Request) -> list[Message]:
        card = request.request_card
        assert card is not None
        return self.fake.thread(card.channel, card.ts)

    def summaries(self, request: Request) -> list[Message]:
        return [m for m in self.thread(request) if (m.metadata or {}).get("event_type") == SUMMARY_EVENT]

    def run_calls(self) -> list[Any]:
        return self.immy.immybot.requests_to("/api/v1/run-immy-service", "POST")

    async def finished(self, request_id: int, timeout: float = 60.0) -> Request:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while True:
            request = await self.service.get(request_id)
            if request.state is RequestState.FINISHED and request.reported and self.summaries(request):
                await asyncio.sleep(0.5)  # a second summary, were there one, would land meanwhile
                return await self.service.get(request_id)
            if time.monotonic() > deadline:
                raise TimeoutError(f"#{request_id} is {request.state.value}; log:\n{self.log.read_text()[-4000:]}")
            await asyncio.sleep(0.05)


async def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout} s")
        await asyncio.sleep(0.05)
    return result


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.replicas.replica_child", cwd=REPO, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=sink,
        )  # fmt: skip


async def _ready(process: asyncio.subprocess.Process, log: Path) -> str:
    assert process.stdout is not None
    try:
        async with asyncio.timeout(90):
            while line := (await process.stdout.readline()).decode():
                if line.startswith("READY "):
                    return line.split()[1]
    except TimeoutError:
        pass
    raise RuntimeError(f"a replica did not start; see {log}")


@contextlib.asynccontextmanager
async def replicas(tmp: Path, database_url: str, count: int = 2, **settings: str) -> AsyncIterator[Replicas]:
    """`count` replicas started together on `database_url` (empty: they migrate it together)."""
    fake = FakeSlack()
    ws = seed_workspace(fake)
    fake.add_user(DIRECT_APPROVER, "dave", real_name="Dave Approver", email="dave@example.com")
    fake.channels[ws.approval_channel].members.add(DIRECT_APPROVER)
    log = tmp / "replicas.log"
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(fake.serve())
        sandbox = await stack.enter_async_context(immy_sandbox(tmp, data=generate(7, computers=60)))
        env = {
            **os.environ, **sandbox.env,
            "SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
            "APPROVAL_CHANNEL": ws.approval_channel, "APPROVERS": f"{DIRECT_APPROVER},{ws.approvers_group}",
            "DATABASE_URL": database_url, "LEASE_SECONDS": str(LEASE_SECONDS), "DATABASE_POOL_SIZE": "4",
            "AUDIT_DB": str(tmp / "unused.db"), "SESSION_POLL_SECONDS": "0.2", "MAX_TARGETS": "10",
            "PORT": "0", "LOG_FORMAT": "text", "LOG_LEVEL": "INFO",
            "PREVIEW_BEFORE_APPROVAL": "false",  # these count run-immy-service calls: the preview is tested elsewhere
            **settings,
        }  # fmt: skip
        env.pop("IMMYBOT_SUBDOMAIN", None)
        env.pop("SLACK_APP_TOKEN", None)
        processes = [await _start(env, log) for _ in range(count)]  # started together
        try:
            urls = await asyncio.gather(*(_ready(p, log) for p in processes))
            running = []
            for process, url in zip(processes, urls, strict=True):
                driver = await stack.enter_async_context(SlackDriver(fake, signing_secret=SECRET, bot_url=url))
                running.append(Replica(process, url, driver))
            store = await PgStore.open(database_url, max_size=4)
            stack.push_async_callback(store.close)
            yield Replicas(fake, ws, sandbox, RequestService(store, make_policy()), store, running, log,  # type: ignore[arg-type]
                           env, stack, processes)  # fmt: skip
        finally:
            for process in processes:
                if process.returncode is None:
                    process.terminate()
            for process in processes:
                try:
                    async with asyncio.timeout(15):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()
