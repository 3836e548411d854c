"""The final summary exactly once across a crash: claimed by a process that dies before (or while) posting
it, it is posted by the next one, which reads the thread first when some of it may be there already."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.immybot.port import ImmyBotSessions
from bot.slack.reports import recovery
from bot.slack.reports.reporter import SlackReporter
from bot.workflow.follower import Follower
from bot.workflow.model import MessageRef, Outcome, Request
from tests.follower.conftest import Rig

REPLIES = "conversations.replies"


class DiesAt:
    """The store as the reporter sees it, except that the process "dies" (hangs until it is killed) when it
    comes to claim a key starting with `prefix`."""

    def __init__(self, rig: Rig, prefix: str) -> None:
        self._service, self._prefix = rig.service, prefix
        self.reached = asyncio.Event()

    async def claim(self, key: str, ttl_seconds: float = 3600) -> bool:
        if key.startswith(self._prefix):
            self.reached.set()
            await asyncio.Event().wait()
        return await self._service.claim(key, ttl_seconds)

    async def claimed(self, key: str) -> bool:
        return await self._service.claimed(key)


@asynccontextmanager
async def bot(rig: Rig, marks: recovery.Marks | None = None, *, client: AsyncWebClient | None = None,
              poll_seconds: float = 0.05) -> AsyncIterator[tuple[Follower, SlackReporter]]:
    """A bot process: a reporter and a follower on the rig's store, fakes and clients; it resumes at start."""

    async def save(request_id: int, ref: MessageRef) -> None:
        await rig.service.set_cards(request_id, status_message=ref)

    reporter = SlackReporter(client or rig.client, base_url=rig.immy.base_url, save_status_message=save,
                             min_edit_interval=0.3, marks=marks or rig.service)  # fmt: skip
    sessions = ImmyBotSessions(rig.immy_client)
    follower = Follower(rig.service, sessions, reporter, poll_seconds=poll_seconds, max_wait=timedelta(seconds=30))
    await follower.start()  # resumes the summaries a dead process left unposted
    try:
        yield follower, reporter
    finally:  # a SIGKILL, as far as Slack and the database can tell: every task just stops
        await follower.aclose()
        await reporter.aclose()


async def crash_while_reporting(rig: Rig, n: int, prefix: str) -> Request:
    """Run a request of `n` computers in a bot that dies when it claims `prefix`; the request, claimed."""
    await rig.follower.aclose()  # the rig's own bot is not part of this story
    computers = rig.computers(n)
    for computer in computers:
        rig.fake.script_computer(computer.id, ["Created", "Passed"])
    dies = DiesAt(rig, prefix)
    async with bot(rig, dies) as (follower, _):
        request = await rig.approved(computers, kick=False)
        follower.start_in_background(request.id)
        await asyncio.wait_for(dies.reached.wait(), timeout=20)
    claimed = await rig.service.get(request.id)
    assert claimed.reported and not await rig.service.claimed(recovery.POSTED.format(id=request.id))
    return claimed


async def test_died_after_the_claim_before_sending_posts_without_reading_the_thread(rig: Rig) -> None:
    request = await crash_while_reporting(rig, 2, "summary-sending:")
    assert rig.summaries(request) == []
    async with bot(rig) as (_, reporter):
        await rig.slack.wait_until(lambda: not reporter.busy)
    done = await rig.service.get(request.id)
    assert len(rig.summaries(done)) == 1 and done.outcome is Outcome.PASSED
    assert rig.slack.calls(REPLIES) == []  # nothing could have reached Slack: no need to look
    assert await rig.service.claimed(recovery.POSTED.format(id=request.id))


async def test_died_after_posting_before_marking_reads_the_thread_and_posts_nothing(rig: Rig) -> None:
    request = await crash_while_reporting(rig, 2, "summary-posted:")
    assert len(rig.summaries(request)) == 1  # Slack has it; the dead bot never wrote that down
    async with bot(rig) as (_, reporter):
        await rig.slack.wait_until(lambda: not reporter.busy)
    assert len(rig.summaries(request)) == 1
    [read] = rig.slack.calls(REPLIES)
    assert read.ok and read.params["include_all_metadata"] in ("1", "true", True)
    assert await rig.service.claimed(recovery.POSTED.format(id=request.id))
    card = request.request_card
    assert card is not None and card.ts in {c.params["ts"] for c in rig.slack.calls("chat.update")}


async def test_a_long_summary_gets_only_its_missing_csv(rig: Rig) -> None:
    rig.slack.latency("files.getUploadURLExternal", 1.0)  # it dies while the CSV upload starts
    await rig.follower.aclose()
    computers = rig.computers(45)
    for computer in computers:
        rig.fake.script_computer(computer.id, ["Created", "Passed"])
    async with bot(rig) as (follower, _):
        request = await rig.approved(computers, kick=False)
        follower.start_in_background(request.id)
        await rig.slack.wait_until(lambda: rig.summaries(request), timeout=20)
        await asyncio.sleep(0.2)
    rig.slack.clear_faults()
    assert rig.shared_files(request) == []
    async with bot(rig) as (_, reporter):
        await rig.slack.wait_until(lambda: not reporter.busy, timeout=20)
    done = await rig.service.get(request.id)
    assert len(rig.summaries(done)) == 1
    [csv] = rig.shared_files(done)
    assert csv.text.count("\n") == 46
    assert len(rig.slack.calls(REPLIES)) == 1


async def test_no_history_scope_posts_again_rather_than_lose_it(rig: Rig) -> None:
    """The documented trade-off when an admin removes the history scopes: at least once, not at most."""
    request = await crash_while_reporting(rig, 1, "summary-posted:")
    rig.slack.granted_scopes = {"chat:write", "files:write"}
    async with bot(rig) as (_, reporter):
        await rig.slack.wait_until(lambda: not reporter.busy)
    assert [c.error for c in rig.slack.calls(REPLIES)] == ["missing_scope"]
    assert len(rig.summaries(request)) == 2


async def test_a_clean_run_leaves_nothing_to_recover(rig: Rig) -> None:
    a = rig.computers(1)[0]
    rig.fake.script_computer(a.id, ["Created", "Passed"])
    request = await rig.approved([a])
    await rig.finished(request.id)
    assert await rig.service.claimed(recovery.POSTED.format(id=request.id))
    assert await recovery.unposted(rig.service) == []
    await rig.reporter.aclose()
    async with bot(rig) as (_, reporter):
        assert not reporter.busy
    assert rig.slack.calls(REPLIES) == [] and len(rig.summaries(request)) == 1


async def test_a_summary_whose_answer_was_lost_is_not_posted_again(rig: Rig) -> None:
    """Slack posted the summary but its answer never came back (the client timed out): the retry reads
    the thread first, finds the part there and does not post it a second time."""
    await rig.follower.aclose()
    a = rig.computers(1)[0]
    rig.fake.script_computer(a.id, ["Created", "Running", "Running", "Passed"])
    impatient = AsyncWebClient(token=rig.slack.bot_token, base_url=rig.slack.api_url, timeout=0.3)
    async with bot(rig, client=impatient, poll_seconds=0.5) as (follower, _):  # retries 0.5 s after a failure
        request = await rig.approved([a], kick=False)
        follower.start_in_background(request.id)
        await rig.slack.wait_until(lambda: rig.thread(request), timeout=10)  # the status message is up
        rig.slack.latency("chat.postMessage", 0.6)  # Slack posts it after the client gave up waiting
        await rig.slack.wait_until(lambda: rig.summaries(request), timeout=15)
        rig.slack.latency("chat.postMessage", 0)
        posted = recovery.POSTED.format(id=request.id)
        async with asyncio.timeout(15):
            while not await rig.service.claimed(posted):  # noqa: ASYNC110 - the retry ran to its end (a store: no event)
                await asyncio.sleep(0.05)
    assert len(rig.summaries(request)) == 1
    assert rig.slack.calls(REPLIES)  # it looked before posting again
