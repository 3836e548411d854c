"""`SlackReporter`: the follower's `Reporter` port in Slack.

- One status message per request, in the request card's thread: posted once (its ref is saved
  through `save_status_message`, so a restarted bot edits the same one), then edited in place with
  `chat.update`, at most once every `min_edit_interval` seconds per message. Updates arriving inside
  the window are coalesced: only the latest state is kept and it is sent when the window opens, so
  the last state is never dropped.
- The final summary is a NEW reply in the thread (never an edit), with the requester mentioned;
  past `INLINE_COMPUTERS` computers the whole table is attached as a CSV (`files_upload_v2`). Then
  both cards (request and approval) are updated to show the outcome. With `marks` (the bot passes
  the RequestService) it is posted exactly once across a crash too: see `recovery`.
- A request cancelled while ImmyBot was starting it gets one reply naming the sessions cancelled.

Only the views' whitelisted fields (`SessionResult`) are sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import request_context
from bot.retry import RetryPolicy, retry_call
from bot.slack import blocks as kit
from bot.slack.answers import posted_ref
from bot.slack.approvals.views import approval_card
from bot.slack.reports import ids, recovery
from bot.slack.reports.views import INLINE_COMPUTERS, final_summary, status_message, summary_csv
from bot.slack.requests.views import request_card
from bot.slack.text import plural
from bot.workflow.model import MessageRef, Request, SessionResult
from bot.workflow.ports import SessionsPort
from bot.workflow.scheduling import run_schedule

if TYPE_CHECKING:
    from bot.workflow.service import RequestService

log = logging.getLogger(__name__)

SaveRef = Callable[[int, MessageRef], Awaitable[Any]]
SUMMARY_EVENT = "immy_request_summary"
FLUSH_ATTEMPTS = 3
RECOVERY_ATTEMPTS = 3
RECOVERY_RETRY = RetryPolicy(attempts=RECOVERY_ATTEMPTS, base_seconds=1.0, cap_seconds=4.0, max_retry_after=None,
                             jitter=False)
# The thread cannot be read (a history scope removed, the bot removed from the channel): post anyway.
CANNOT_READ = {"missing_scope", "not_in_channel", "channel_not_found", "thread_not_found", "access_denied"}


@dataclass
class _Status:
    ref: MessageRef | None
    latest: tuple[str, list[dict]] | None = None
    sent_at: float = float("-inf")  # loop time the last post/edit was answered
    flusher: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False


@dataclass
class _Final:
    posted: set[int] = field(default_factory=set)  # summary parts already in the thread (skipped on a retry)
    csv_sent: bool = False
    checked: bool = False  # the durable `sending` mark was taken (and the thread read when needed)


class SlackReporter:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        base_url: str,
        save_status_message: SaveRef,
        min_edit_interval: float = 2.0,
        inline_limit: int = INLINE_COMPUTERS,
        marks: recovery.Marks | None = None,
    ) -> None:
        self._client = client
        self._base_url = base_url
        self._save = save_status_message
        self.min_edit_interval = min_edit_interval
        self.inline_limit = inline_limit
        self._status: dict[int, _Status] = {}
        self._finals: dict[int, _Final] = {}
        self._marks = marks
        self._recovery: asyncio.Task[None] | None = None

    # ---- status message ----------------------------------------------------------------------

    async def progress(self, request: Request, *, immybot_unavailable: bool = False) -> None:
        if request.request_card is None:
            log.warning("request %s has no request card: no thread to report in", request.id)
            return
        state = self._state(request)
        if state.closed:
            return
        state.latest = status_message(request, names=_names(request), immybot_unavailable=immybot_unavailable,
                                      schedule=run_schedule(request))
        if state.flusher is None or state.flusher.done():
            state.flusher = asyncio.create_task(self._flush(request), name=f"status-{request.id}")

    def _state(self, request: Request) -> _Status:
        state = self._status.get(request.id)
        if state is None:
            state = self._status[request.id] = _Status(ref=request.status_message)
        return state

    async def _flush(self, request: Request) -> None:
        """Send the latest state, no sooner than `min_edit_interval` after the previous send."""
        state = self._status[request.id]
        loop = asyncio.get_running_loop()
        failures = 0
        while state.latest is not None:
            wait = state.sent_at + self.min_edit_interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            async with state.lock:
                text, blocks = state.latest
                state.latest = None
                try:
                    await self._send_status(request, state, text, blocks)
                    failures = 0
                except Exception:
                    failures += 1
                    log.warning("status message update failed (%d)", failures, exc_info=True)
                    if state.latest is None and failures < FLUSH_ATTEMPTS:
                        state.latest = (text, blocks)  # keep it: never drop the newest state
                finally:
                    state.sent_at = loop.time()

    async def _send_status(self, request: Request, state: _Status, text: str, blocks: list[dict]) -> None:
        if state.ref is None:
            card = request.request_card
            assert card is not None
            answer = await self._client.chat_postMessage(
                channel=card.channel, thread_ts=card.ts, text=text, blocks=blocks
            )
            state.ref = posted_ref(answer, card.channel)
            await self._save(request.id, state.ref)
        else:
            await self._client.chat_update(channel=state.ref.channel, ts=state.ref.ts, text=text, blocks=blocks)

    async def _settle(self, request: Request) -> None:
        """Bring the status message to the request's final state and stop editing it."""
        state = self._state(request)
        state.latest = status_message(request, names=_names(request), schedule=run_schedule(request))
        if state.flusher is None or state.flusher.done():
            state.flusher = asyncio.create_task(self._flush(request), name=f"status-{request.id}")
        with contextlib.suppress(Exception):
            await asyncio.shield(state.flusher)
        state.closed = True

    # ---- final summary -----------------------------------------------------------------------

    async def final(self, request: Request, results: list[SessionResult]) -> None:
        card = request.request_card
        if card is None:
            log.error("request %s has no request card: the summary cannot be posted", request.id)
            return
        await self._settle(request)
        done = self._finals.setdefault(request.id, _Final())
        if self._marks is not None and not done.checked:
            sending = recovery.SENDING.format(id=recovery.summary_ref(request))
            if not await self._marks.claim(sending, recovery.MARK_TTL):
                await self._read_thread(request, done)  # an earlier attempt may have posted some of it
            done.checked = True
        limit = self.inline_limit if len(results) > self.inline_limit else None
        messages = final_summary(request, results, self._base_url, inline_limit=limit,
                                 summary_id=str(request.attempt), retry=request.attempt - 1)
        for index, (text, blocks) in enumerate(messages):
            if index in done.posted:
                continue
            try:
                await self._client.chat_postMessage(
                    channel=card.channel,
                    thread_ts=card.ts,
                    text=text,
                    blocks=blocks,
                    metadata={"event_type": SUMMARY_EVENT, "event_payload": {"request_id": request.id,
                                                                       "part": index, "attempt": request.attempt}},
                )
            except SlackApiError:
                raise  # Slack answered: that part is not in the thread
            except Exception:
                done.checked = False  # no answer (a timeout, a dropped connection): the retry reads the thread first
                raise
            done.posted.add(index)
        if limit is not None and not done.csv_sent:
            try:
                await self._client.files_upload_v2(
                    channel=card.channel,
                    thread_ts=card.ts,
                    content=summary_csv(results),
                    filename=ids.SUMMARY_CSV_FILENAME.format(id=recovery.summary_ref(request)),
                    title=f"{request.label} results",
                    request_file_info=False,
                )
            except SlackApiError:
                raise
            except Exception:
                done.checked = False  # as for a part: the file may be in the thread already
                raise
            done.csv_sent = True
        if self._marks is not None:
            await self._marks.claim(recovery.POSTED.format(id=recovery.summary_ref(request)), recovery.MARK_TTL)
        await self._update_cards(request)
        self._finals.pop(request.id, None)
        self._status.pop(request.id, None)

    async def _read_thread(self, request: Request, done: _Final) -> None:
        """Mark the summary parts and the CSV already in the thread as posted."""
        card = request.request_card
        assert card is not None
        csv_name = ids.SUMMARY_CSV_FILENAME.format(id=recovery.summary_ref(request))
        cursor: str | None = None
        try:
            while True:
                answer = await self._client.conversations_replies(
                    channel=card.channel, ts=card.ts, include_all_metadata=True, limit=200, cursor=cursor
                )
                parts, csv = recovery.summary_in(answer.get("messages") or [], request.id, SUMMARY_EVENT, csv_name,
                                                  request.attempt)
                done.posted |= parts
                done.csv_sent = done.csv_sent or csv
                cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    break
        except SlackApiError as error:
            code = error.response.get("error")
            if code not in CANNOT_READ:
                raise
            log.warning("cannot read the thread (%s): posting the summary, perhaps a second time", code)
            return
        log.info("summary parts already in the thread: %s; CSV: %s", sorted(done.posted), done.csv_sent)

    # ---- after a crash -----------------------------------------------------------------------

    async def resume_summaries(self, service: recovery.FinishedRequests, sessions: SessionsPort) -> None:
        """Call at start-up BEFORE the follower starts: post, in the background, the summaries a dead
        process claimed but did not finish posting."""
        if self._marks is None:
            return
        requests = await recovery.unposted(service)
        if requests:
            log.warning("summaries claimed but not marked posted: %s", [r.id for r in requests])
            self._recovery = asyncio.create_task(self._repost(requests, sessions), name="summary-recovery")

    async def recover_summary(self, request: Request, sessions: SessionsPort) -> None:
        """Replicas (SPEC §9): the caller holds the summary's lease, taken over from a replica that died after
        claiming it; posted now (reading the thread first when it may have posted some) unless marked posted."""
        if self._marks is None or await self._marks.claimed(recovery.POSTED.format(id=recovery.summary_ref(request))):
            return
        log.warning("resuming a summary a replica that died had claimed")
        await self._repost([request], sessions)

    @property
    def busy(self) -> bool:
        """Summaries of a dead process are still being posted (tests poll this)."""
        return self._recovery is not None and not self._recovery.done()

    async def _repost(self, requests: list[Request], sessions: SessionsPort) -> None:
        for request in requests:
            with request_context(request.id):
                try:
                    results = await recovery.results_for(request, sessions)
                except Exception:
                    log.exception("could not read the results of a recovered summary")
                    continue
                def retrying(attempt: int, error: BaseException, wait: float) -> None:
                    log.warning("could not post the recovered summary (%d)", attempt, exc_info=error)

                try:
                    await retry_call(lambda request=request, results=results: self.final(request, results),
                                     RECOVERY_RETRY, on_retry=retrying)
                    log.info("recovered summary posted")
                except Exception:
                    log.exception("gave up posting the recovered summary")

    # ---- a start that lost the race with a cancel --------------------------------------------

    async def start_cancelled(self, request: Request, cancelled: list[int], not_cancelled: list[int]) -> None:
        card = request.request_card
        if card is None:
            log.warning("request %s has no request card: no thread to report in", request.id)
            return
        state = self._status.pop(request.id, None)
        if state is not None and state.flusher is not None:
            state.flusher.cancel()
        started = len(cancelled) + len(not_cancelled)
        text = (
            f"{request.label} was cancelled while ImmyBot was starting it: ImmyBot had just started "
            f"{plural(started, 'session')}"
        )
        text += f"; cancelled {_ids(cancelled)}." if cancelled else "."
        if not_cancelled:
            text += f" :warning: ImmyBot did not cancel {_ids(not_cancelled)}: check it in ImmyBot."
        text, blocks = kit.message(text, [kit.section(f":heavy_multiplication_x: {text}")])
        await self._client.chat_postMessage(channel=card.channel, thread_ts=card.ts, text=text, blocks=blocks)

    async def _update_cards(self, request: Request) -> None:
        for ref, render in ((request.request_card, request_card), (request.approval_card, approval_card)):
            if ref is None:
                continue
            text, blocks = render(request)
            try:
                await self._client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)
            except SlackApiError as error:
                log.warning("could not update a card with the outcome: %s", error.response.get("error"))

    async def aclose(self) -> None:
        tasks = [s.flusher for s in self._status.values() if s.flusher is not None and not s.flusher.done()]
        if self._recovery is not None:
            tasks.append(self._recovery)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _ids(session_ids: list[int]) -> str:
    return ("session " if len(session_ids) == 1 else "sessions ") + ", ".join(str(i) for i in session_ids)


def _names(request: Request) -> dict[int, str]:
    return {c.id: c.name for c in request.targets.computers}


def make_reporter(client: AsyncWebClient, service: RequestService, base_url: str) -> SlackReporter:
    """The reporter the bot runs with: the status message's ref is saved on the request."""

    async def save(request_id: int, ref: MessageRef) -> None:
        await service.set_cards(request_id, status_message=ref)

    return SlackReporter(client, base_url=base_url, save_status_message=save, marks=service)
