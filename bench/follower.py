"""Benchmark: the follower with N sessions in flight against the fake ImmyBot and the fake Slack.

    .venv/bin/python bench/follower.py [--sessions 1000] [--duration 30] [--poll-seconds 15] [--previews]

The fakes (Entra over HTTPS, ImmyBot, Slack) run in a child process at nice 19 (BENCH_FAKES_NICE),
so their work neither counts as the bot's nor takes CPU from it (they are remote in production; the
bot's priority is unchanged). The bot side is the real store, ImmyBot client, SlackReporter and
Follower in this process, with the product's defaults (the poll interval is SESSION_POLL_SECONDS' default, 15 s,
unless --poll-seconds says otherwise; the JSON says which). Every session is scripted Created, then
Running: the follower backs off once while it is Created, then polls it every interval.
Measured in the same run, with the same probe (sleep overshoot of a 10 ms `asyncio.sleep`):
- idle: the bot with the follower started and nothing in flight, in two windows: before the
  sessions start and after they have all passed and been reported (so a change in the machine's
  background load during the run shows in both figures, not only in one);
- ramp (reported, not a goal): from the first request to every session Running: the starts, first
  polls (spread over one interval), the Created back-off and the status-message posts and edits;
- following: then N sessions followed for `--duration` s, with ImmyBot and Slack calls/min counted
  by the fakes over that window (and the fakes' own CPU seconds in it);
- resident memory (VmRSS, peak over the run) and the smallest gap between two edits of the same
  Slack message over the whole run (posts, progress edits and summaries).
Goals: lag p99 following <= 2x idle; no message edited twice within 2 s; RSS <= 150 MB.
Prints one JSON line.

`--previews` (SPEC §8) runs it twice in the same run: previews off (the reference), then on. With them
on, every request first gets its detection-only preview on the same follower (the fake holds the
detection Running, a slow instance), the N preview sessions are followed for `--duration` s (the
"previewing" window), then every request is approved: each approval cancels its preview's sessions
and waits for them before its real run starts (the settle step), and the N real sessions are followed
as before. The JSON holds both runs and the on/off ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REQUESTS_CHANNEL = "C0REQUESTS"
APPROVAL_CHANNEL = "C0APPROVE"
PER_REQUEST = 25
# ImmyBot and Slack are remote in production: on a small shared machine the fakes must not take CPU
# time from the bot, so the child runs at the lowest priority (the bot's own priority is unchanged).
FAKES_NICE = int(os.environ.get("BENCH_FAKES_NICE", "19"))


# ---- the fakes' process ---------------------------------------------------------------------------


async def _fakes(sessions: int, directory: str, slow_detection: bool = False) -> None:
    from immybot_slack_sandbox.immy_data import generate
    from immybot_slack_sandbox.immy_sandbox import immy_sandbox
    from immybot_slack_sandbox.slack import FakeSlack

    slack = FakeSlack()
    slack.add_user("UREQUESTER", "requester")
    slack.add_user("UAPPROVER", "approver")
    slack.add_channel(REQUESTS_CHANNEL, "requests", members=["UREQUESTER"])
    slack.add_channel(APPROVAL_CHANNEL, "approvals", members=["UAPPROVER"])
    data = generate(7, computers=sessions, global_software=20, local_software=2, tenants=4)
    if slow_detection:  # a preview's detection-only session stays Running until it is cancelled
        from immybot_slack_sandbox import immy_extra_routes

        immy_extra_routes.statuses = lambda outcome: ["Created", *["Running"] * 2_000, outcome.session_status]
    async with slack.serve(), immy_sandbox(Path(directory), data=data) as sandbox:
        for computer in data.computers:
            sandbox.immybot.script_computer(computer["id"], ["Created", *["Running"] * 2_000])
        print(json.dumps({"slack_api": slack.api_url, "slack_token": slack.bot_token, **sandbox.env}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            if line.strip() == "pass":  # every session passes at its next poll
                for session_id in list(sandbox.immybot.sessions):
                    sandbox.immybot.set_session_status(session_id, "Passed")
            print(json.dumps(_stats(slack, sandbox.immybot)), flush=True)


def _stats(slack: Any, immybot: Any) -> dict[str, Any]:
    edits: dict[str, list[float]] = defaultdict(list)
    for call in slack.calls():
        if call.method in ("chat.update", "chat.postMessage"):
            ts = call.params.get("ts") or call.response.get("ts")
            edits[str(ts)].append(call.at)
    gaps = [b - a for times in edits.values() for a, b in zip(sorted(times), sorted(times)[1:], strict=False)]
    return {
        "immybot_calls": len(immybot.requests),
        "slack_calls": len(slack.calls()),
        "min_edit_gap": min(gaps) if gaps else None,
        "sessions": len(immybot.sessions),
        "cpu_s": time.process_time(),
    }


# ---- the bot's process ----------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class LagProbe:
    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self.peak_rss = 0.0
        self.stopped = False

    async def run(self, seconds: float) -> list[float]:
        """Sample for `seconds`, or until `stop()`."""
        self.samples, self.stopped = [], False
        end = time.perf_counter() + seconds
        while time.perf_counter() < end and not self.stopped:
            started = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append(time.perf_counter() - started - self.interval)
            if len(self.samples) % 50 == 0:
                self.peak_rss = max(self.peak_rss, _rss_mb())
        return self.samples

    def stop(self) -> None:
        self.stopped = True


def p99_ms(samples: list[float]) -> float:
    if len(samples) < 2:
        return 0.0
    return statistics.quantiles(samples, n=100)[98] * 1000


class Fakes:
    def __init__(self, sessions: int, directory: str, slow_detection: bool = False) -> None:
        self.child = subprocess.Popen(
            [sys.executable, __file__, "--fakes", "--sessions", str(sessions), "--dir", directory,
             *(["--slow-detection"] if slow_detection else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: os.nice(FAKES_NICE),
        )
        assert self.child.stdout is not None
        self.env: dict[str, str] = json.loads(self.child.stdout.readline())

    def stats(self, command: str = "stats") -> dict[str, Any]:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(f"{command}\n")
        self.child.stdin.flush()
        return json.loads(self.child.stdout.readline())

    def close(self) -> None:
        if self.child.stdin:
            self.child.stdin.close()
        try:
            self.child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.child.kill()


async def _submit(service: Any, client: Any, computers: tuple[Any, ...], *, approve: bool = True) -> Any:
    """Submit, post both cards and approve one request, as the Slack listeners do."""
    from bot.slack.approvals.views import approval_card
    from bot.slack.requests.views import request_card
    from bot.workflow.model import Catalog, DesiredState, Draft, MessageRef, RunOptions, Software, Targets

    software = Software(id=714, name="Google Chrome", catalog=Catalog.GLOBAL)
    draft = Draft(requester="UREQUESTER", channel=REQUESTS_CHANNEL, software=software, action=DesiredState.LATEST,
                  options=RunOptions(), reason="bench", targets=Targets(computers=computers))  # fmt: skip
    request = await service.submit(draft)
    card = await client.chat_postMessage(channel=REQUESTS_CHANNEL, text=request_card(request)[0])
    approval = await client.chat_postMessage(channel=APPROVAL_CHANNEL, text=approval_card(request)[0])
    await service.set_cards(request.id, request_card=MessageRef(channel=card["channel"], ts=card["ts"]),
                            approval_card=MessageRef(channel=approval["channel"], ts=approval["ts"]))  # fmt: skip
    return await service.approve(request.id, "UAPPROVER") if approve else request


async def _until(condition: Any, seconds: float, every: float = 0.1) -> bool:
    end = time.perf_counter() + seconds
    while not (await condition() if asyncio.iscoroutinefunction(condition) else condition()):
        if time.perf_counter() > end:
            return False
        await asyncio.sleep(every)
    return True


async def bench(
    sessions: int, duration: float, poll_seconds: float | None, idle_seconds: float, previews: bool = False
) -> dict[str, Any]:
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.config import load_settings
    from bot.immybot.client import ImmyBotClient
    from bot.immybot.port import ImmyBotSessions
    from bot.slack.reports.reporter import SlackReporter
    from bot.store import Store
    from bot.workflow.follower import Follower
    from bot.workflow.model import Computer, MessageRef, RequestState
    from bot.workflow.policy import Policy
    from bot.workflow.previewing import PreviewLedger
    from bot.workflow.service import RequestService

    class NoGroups:
        async def members(self, group_id: str) -> frozenset[str]:
            return frozenset()

    with tempfile.TemporaryDirectory() as tmp:
        fakes = Fakes(sessions, tmp, slow_detection=previews)
        try:
            os.environ["REQUESTS_CA_BUNDLE"] = fakes.env["REQUESTS_CA_BUNDLE"]
            overrides = {} if poll_seconds is None else {"session_poll_seconds": poll_seconds}
            settings = load_settings(
                _env_file=None,
                slack_bot_token=fakes.env["slack_token"],
                slack_api_url=fakes.env["slack_api"],
                immybot_base_url=fakes.env["IMMYBOT_BASE_URL"],
                immybot_authority_host=fakes.env["IMMYBOT_AUTHORITY_HOST"],
                immybot_tenant_id=fakes.env["IMMYBOT_TENANT_ID"],
                immybot_client_id=fakes.env["IMMYBOT_CLIENT_ID"],
                immybot_client_secret=fakes.env["IMMYBOT_CLIENT_SECRET"],
                approval_channel=APPROVAL_CHANNEL,
                approvers="UAPPROVER",
                audit_db=Path(tmp) / "audit.db",
                **overrides,
            )
            poll = settings.session_poll_seconds
            store = await Store.open(settings.audit_db)
            policy = Policy({"UAPPROVER"}, set(), set(), set(), False, PER_REQUEST, timedelta(hours=24), NoGroups(),
                            requests_per_hour=10**9)  # one bench requester makes them all
            service = RequestService(store, policy)
            client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url,
                                    retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=5)])  # fmt: skip

            async def save(request_id: int, ref: MessageRef) -> None:
                await service.set_cards(request_id, status_message=ref)

            async with ImmyBotClient(settings) as immy:
                await immy.token()
                reporter = SlackReporter(client, base_url=settings.base_url, save_status_message=save)
                async def show_preview(request: Any) -> None:  # the approval card edited in place, as in Slack
                    from bot.slack.approvals.views import approval_card

                    card = request.approval_card
                    await client.chat_update(channel=card.channel, ts=card.ts, text=approval_card(request)[0])

                follower = Follower(service, ImmyBotSessions(immy), reporter, poll_seconds=poll,
                                    max_wait=timedelta(hours=settings.session_max_wait_hours),
                                    preview_ledger=PreviewLedger(store) if previews else None,
                                    show_preview=show_preview)  # fmt: skip
                await follower.start()
                probe = LagProbe()
                idle = await probe.run(idle_seconds)

                async def all_running() -> bool:  # every session past Created: no more status changes
                    running = await service.in_states(RequestState.RUNNING)
                    return sum(s.status == "Running" for r in running for s in r.sessions) >= sessions

                ramp_started = time.perf_counter()
                ramp_probe = asyncio.create_task(probe.run(3600))
                ramp: list[float] = []

                previewing: list[float] = []
                preview_calls = None
                submitted = []
                for first in range(1, sessions + 1, PER_REQUEST):
                    computers = tuple(
                        Computer(id=i, name=f"PC-{i}") for i in range(first, min(first + PER_REQUEST, sessions + 1))
                    )
                    request = await _submit(service, client, computers, approve=not previews)
                    submitted.append(request.id)
                    if previews:
                        follower.preview_in_background(request.id)
                    else:
                        follower.start_in_background(request.id)
                if previews:  # N preview sessions followed, then every request approved (the settle step)
                    await _until(lambda: follower.in_flight >= sessions, 120)
                    async def previews_running() -> bool:
                        return await _previews_running(service, sessions)

                    await _until(previews_running, 4 * poll + 120, every=1.0)
                    probe.stop()
                    ramp += await ramp_probe
                    before_previews = fakes.stats()
                    previewing = await probe.run(duration)
                    preview_calls = fakes.stats()["immybot_calls"] - before_previews["immybot_calls"]
                    ramp_probe = asyncio.create_task(probe.run(3600))
                    for request_id in submitted:
                        await service.approve(request_id, "UAPPROVER")
                        follower.start_in_background(request_id)
                await _until(all_running, 4 * poll + 120, every=1.0)  # every real session started
                await _until(lambda: follower.in_flight >= sessions, 120)  # every session started and followed
                in_flight = follower.in_flight
                await _until(all_running, 4 * poll + 120, every=1.0)  # first polls and the Created back-off done
                probe.stop()
                ramp += await ramp_probe
                ramp_seconds = time.perf_counter() - ramp_started
                before = fakes.stats()
                started = time.perf_counter()
                following = await probe.run(duration)
                elapsed = time.perf_counter() - started
                after = fakes.stats("pass")
                finished = await _until(lambda: follower.idle, 4 * poll + 120)  # passed, finished, reported
                idle += await probe.run(idle_seconds)
                await follower.aclose()
                await reporter.aclose()
            await store.close()
            total = fakes.stats()
        finally:
            fakes.close()
    minutes = elapsed / 60
    idle_p99, following_p99 = p99_ms(idle), p99_ms(following)
    rss = max(probe.peak_rss, _rss_mb())
    gap = total["min_edit_gap"]
    return {
        "bench": "follower",
        "sessions": sessions,
        "in_flight": in_flight,
        "all_reported": finished,
        "duration_s": round(elapsed, 1),
        "poll_seconds": poll,
        "poll_source": "SESSION_POLL_SECONDS default" if poll_seconds is None else "--poll-seconds",
        "immybot_calls_per_min": round((after["immybot_calls"] - before["immybot_calls"]) / minutes),
        "immybot_calls_per_min_nominal": round(sessions * 60 / poll),
        "slack_calls_per_min": round((after["slack_calls"] - before["slack_calls"]) / minutes),
        "fakes_nice": FAKES_NICE,
        "fakes_cpu_s_following": round(after["cpu_s"] - before["cpu_s"], 2),
        "lag_probe": "overshoot of asyncio.sleep(0.01); idle = before + after following, same probe",
        "lag_samples": {"idle": len(idle), "following": len(following)},
        "lag_p50_idle_ms": round(statistics.median(idle) * 1000, 3) if idle else None,
        "lag_p50_following_ms": round(statistics.median(following) * 1000, 3) if following else None,
        "lag_p99_idle_ms": round(idle_p99, 3),
        "lag_p99_following_ms": round(following_p99, 3),
        "lag_ratio": round(following_p99 / idle_p99, 2) if idle_p99 else None,
        "lag_max_following_ms": round(max(following) * 1000, 3) if following else None,
        "ramp_s": round(ramp_seconds, 1),
        "lag_p99_ramp_ms": round(p99_ms(ramp), 3),
        "rss_mb": round(rss, 1),
        "previews": previews,
        **({"lag_p99_previewing_ms": round(p99_ms(previewing), 3),
            "immybot_calls_per_min_previewing": round(preview_calls / (duration / 60)) if preview_calls else None}
           if previews else {}),
        "min_edit_gap_s": round(gap, 3) if gap is not None else None,
        "goals": {
            "lag_p99_le_2x_idle": bool(idle_p99) and following_p99 <= 2 * idle_p99,
            "edits_ge_2s_apart": gap is None or gap >= 1.95,
            "rss_le_150mb": rss <= 150,
        },
    }


async def _previews_running(service: Any, sessions: int) -> bool:
    """Every preview session past Created (the pending requests' detection-only runs)."""
    from bot.workflow.model import RequestState

    pending = await service.in_states(RequestState.PENDING)
    return sum(s.status == "Running" for r in pending for s in r.preview_sessions) >= sessions


def _compare(off: dict[str, Any], on: dict[str, Any]) -> dict[str, Any]:
    def ratio(key: str) -> float | None:
        return round(on[key] / off[key], 2) if off.get(key) and on.get(key) is not None else None

    return {"bench": "follower_previews", "sessions": on["sessions"], "off": off, "on": on,
            "ratios_on_vs_off": {k: ratio(k) for k in ("lag_p99_following_ms", "ramp_s", "rss_mb",
                                                       "immybot_calls_per_min", "slack_calls_per_min")},
            "previewing_lag_vs_idle": round(on["lag_p99_previewing_ms"] / on["lag_p99_idle_ms"], 2)
            if on.get("lag_p99_idle_ms") else None,
            # N preview sessions followed vs N real ones (the reference run): what a preview costs the loop
            "previewing_vs_off_following": round(on["lag_p99_previewing_ms"] / off["lag_p99_following_ms"], 2)
            if off.get("lag_p99_following_ms") else None}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of measured following")
    parser.add_argument("--poll-seconds", type=float, default=None, help="default: SESSION_POLL_SECONDS' (15)")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="seconds of each of the two idle windows")
    parser.add_argument("--previews", action="store_true",
                        help="previews off (the reference), then on, in the same run (SPEC §8)")
    parser.add_argument("--fakes", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--slow-detection", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fakes:
        asyncio.run(_fakes(args.sessions, args.dir, args.slow_detection))
        return
    result = asyncio.run(bench(args.sessions, args.duration, args.poll_seconds, args.idle_seconds))
    if args.previews:
        on = asyncio.run(bench(args.sessions, args.duration, args.poll_seconds, args.idle_seconds, previews=True))
        result = _compare(result, on)
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
