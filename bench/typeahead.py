"""Typeahead and `/immy` → views.open, the running bot against a bare Bolt app served the same way.

The fake ImmyBot holds 20,000 global + 2,000 local software and 50,000 computers and answers every call
after 400 ms. 1,000 software and 1,000 computer queries (2–5 letter fragments of real names), 50 at a
time, signed like Slack, go to the bot's `/slack/events`; the same load goes to a bare `AsyncApp`
whose options listener answers ten fixed options (same web layer, same signing). Then 200 `/immy`
commands, 20 at a time, timed until the fake Slack records the `views.open`. Prints one JSON line.

    python bench/typeahead.py            # full size
    python bench/typeahead.py --small    # 10x smaller, for the smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import slack_payloads as p
from bot.sandbox.demo import DemoSettings
from bot.sandbox.immy_data import generate
from bot.sandbox.immy_sandbox import immy_sandbox
from bot.sandbox.server import serve
from bot.sandbox.slack import FakeSlack
from bot.sandbox.slack_seed import seed_workspace
from bot.slack.requests import ids
from bot.web import build_web_app

SECRET = "bench-signing-secret"
FIXED_OPTIONS = [{"text": {"type": "plain_text", "text": f"Option {i}"}, "value": str(i)} for i in range(10)]
FIXED_VIEW = {"type": "modal", "callback_id": "bare", "title": {"type": "plain_text", "text": "Bare"},
              "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "fixed"}}]}


def signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}",
            "content-type": "application/x-www-form-urlencoded"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def fragments(names: list[str], count: int, rng: random.Random) -> list[str]:
    out = []
    while len(out) < count:
        name = rng.choice(names)
        letters = re.sub(r"[^A-Za-z0-9]", "", name)
        if len(letters) < 2:
            continue
        size = rng.randint(2, min(5, len(letters)))
        start = rng.randint(0, len(letters) - size)
        out.append(letters[start : start + size].lower())
    return out


async def run_load(send: Callable[[str], Awaitable[tuple[float, list[dict]]]], queries: list[str],
                   concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    bad = 0
    queue = list(enumerate(queries))

    async def worker() -> None:
        nonlocal bad
        while queue:
            _, query = queue.pop()
            seconds, options = await send(query)
            latencies.append(seconds)
            if not options or len(options) > 100:
                bad += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {"p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            "throughput_rps": round(len(queries) / wall, 1), "bad_answers": bad}


def suggest_sender(http: httpx.AsyncClient, url: str, payload: dict[str, Any], action_id: str
                   ) -> Callable[[str], Awaitable[tuple[float, list[dict]]]]:
    async def send(query: str) -> tuple[float, list[dict]]:
        body = urlencode({"payload": json.dumps({**payload, "action_id": action_id, "value": query})}).encode()
        started = time.perf_counter()
        response = await http.post(url, content=body, headers=signed(body))
        elapsed = time.perf_counter() - started
        options = response.json().get("options", []) if response.status_code == 200 and response.content else []
        return elapsed, options

    return send


async def views_open_latency(http: httpx.AsyncClient, url: str, fake: FakeSlack, user: str, total: int,
                             concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    remaining = [total]

    async def one() -> None:
        trigger = fake.mint_trigger(user)
        fields = {"command": "/immy", "text": "", "user_id": user, "user_name": "alice", "channel_id": "C0OPS",
                  "channel_name": "it-ops", "team_id": fake.team_id, "team_domain": "fake-msp",
                  "api_app_id": fake.app_id, "trigger_id": trigger, "token": "unused",
                  "response_url": fake.mint_response_url("command", user, "C0OPS")}
        body = urlencode(fields).encode()
        started = time.perf_counter()
        await http.post(url, content=body, headers=signed(body))
        await fake.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger, timeout=10)
        latencies.append(time.perf_counter() - started)

    async def worker() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            await one()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2)}


@contextlib.asynccontextmanager
async def bare_app(fake: FakeSlack) -> AsyncIterator[str]:
    app = AsyncApp(client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url), signing_secret=SECRET)

    @app.options(re.compile(".*"))
    async def options(ack: Any) -> None:
        await ack(options=FIXED_OPTIONS)

    @app.command("/immy")
    async def command(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=FIXED_VIEW)

    async def health() -> tuple[int, dict[str, Any]]:
        return 200, {}

    web = build_web_app(health=health, metrics=lambda: (b"", "text/plain"), bolt_app=app, signing_secret=SECRET)
    async with serve(web) as served:
        yield served.url


def settings_for(tmp: Path, fake: FakeSlack, env: dict[str, str]) -> Any:
    return DemoSettings(
        slack_bot_token=fake.bot_token, slack_signing_secret=SECRET, slack_app_token=None, slack_api_url=fake.api_url,
        immybot_base_url=env["IMMYBOT_BASE_URL"], immybot_tenant_id=env["IMMYBOT_TENANT_ID"],
        immybot_client_id=env["IMMYBOT_CLIENT_ID"], immybot_client_secret=env["IMMYBOT_CLIENT_SECRET"],
        immybot_authority_host=env["IMMYBOT_AUTHORITY_HOST"], approval_channel="C0APPROVE", approvers="U0BOB",
        audit_db=tmp / "bench.db", catalog_refresh_minutes=60, port=0, log_level="ERROR", log_format="text",
    )


async def bench(small: bool, scale: int | None = None) -> dict[str, Any]:
    from bot.services import running_bot

    scale = scale or (10 if small else 1)
    sizes = {"global": 20_000 // scale, "local": 2_000 // scale, "computers": 50_000 // scale}
    n_queries, n_commands = 1000 // scale, 200 // scale
    rng = random.Random(42)
    data = generate(7, computers=sizes["computers"], global_software=sizes["global"],
                    local_software=sizes["local"], tenants=30)
    software_names = [s["name"] for s in data.global_software + data.local_software]
    computer_names = [c["computerName"] for c in data.computers]
    fake = FakeSlack()
    ws = seed_workspace(fake)
    result: dict[str, Any] = {"benchmark": "typeahead", "small": small, "catalog": sizes, "queries": n_queries,
                              "concurrency": 50, "immybot_latency_ms": 400}
    saved_bundle = os.environ.get("REQUESTS_CA_BUNDLE")
    with tempfile.TemporaryDirectory(prefix="bench-typeahead-") as tmp_name:
        tmp = Path(tmp_name)
        async with fake.serve(), immy_sandbox(tmp, data=data) as sandbox:
            os.environ["REQUESTS_CA_BUNDLE"] = sandbox.env["REQUESTS_CA_BUNDLE"]
            sandbox.immybot.faults.latency(0.4)
            rss_before = rss_mb()
            load_started = time.perf_counter()
            async with running_bot(settings_for(tmp, fake, sandbox.env), socket=False) as bot, \
                    bare_app(fake) as bare_url, httpx.AsyncClient(timeout=30, trust_env=False,
                                                                  limits=httpx.Limits(max_connections=100)) as http:
                result["catalog_load_s"] = round(time.perf_counter() - load_started, 2)
                result["rss_mb_after_catalog"] = round(rss_mb(), 1)
                result["rss_mb_bot_delta"] = round(rss_mb() - rss_before, 1)
                bot_url, bare = bot.url + "/slack/events", bare_url + "/slack/events"
                await http.post(bot_url, content=b"", headers=signed(b""))  # warm up the connection pool
                # One real modal gives the view the block_suggestion payloads refer to.
                body = urlencode({"command": "/immy", "text": "", "user_id": ws.requester, "channel_id": "C0OPS",
                                  "team_id": fake.team_id, "trigger_id": fake.mint_trigger(ws.requester),
                                  "response_url": fake.mint_response_url("command", ws.requester, "C0OPS")}).encode()
                await http.post(bot_url, content=body, headers=signed(body))
                view = await fake.wait_until(lambda: fake.latest_view(ws.requester), timeout=10)
                block_ids = {ids.SOFTWARE_ACTION: ids.SOFTWARE_BLOCK, ids.COMPUTERS_ACTION: ids.COMPUTERS_BLOCK}
                for kind, action_id, names in (("software", ids.SOFTWARE_ACTION, software_names),
                                               ("computers", ids.COMPUTERS_ACTION, computer_names)):
                    payload = {**p.base(fake), "type": "block_suggestion", "user": p.user_ref(fake, ws.requester),
                               "container": {"type": "view", "view_id": view.id}, "block_id": block_ids[action_id],
                               "view": view.to_api(team_id=fake.team_id, app_id=fake.app_id, bot_id=fake.bot_id)}
                    queries = fragments(names, n_queries, rng)
                    ours = await run_load(suggest_sender(http, bot_url, payload, action_id), queries, 50)
                    ref = await run_load(suggest_sender(http, bare, payload, action_id), queries, 50)
                    result[kind] = {"bot": ours, "bare": ref,
                                    "p99_ratio": round(ours["p99_ms"] / ref["p99_ms"], 2),
                                    "throughput_ratio": round(ours["throughput_rps"] / ref["throughput_rps"], 2)}
                ours = await views_open_latency(http, bot_url, fake, ws.requester, n_commands, 20)
                ref = await views_open_latency(http, bare, fake, ws.requester, n_commands, 20)
                result["views_open"] = {"bot": ours, "bare": ref, "p99_ratio": round(ours["p99_ms"] / ref["p99_ms"], 2)}
    if saved_bundle is None:
        os.environ.pop("REQUESTS_CA_BUNDLE", None)
    else:
        os.environ["REQUESTS_CA_BUNDLE"] = saved_bundle
    goals = {
        "software_p99_ratio<=1.5": result["software"]["p99_ratio"] <= 1.5,
        "software_throughput_ratio>=0.7": result["software"]["throughput_ratio"] >= 0.7,
        "computers_p99_ratio<=1.5": result["computers"]["p99_ratio"] <= 1.5,
        "computers_throughput_ratio>=0.7": result["computers"]["throughput_ratio"] >= 0.7,
        "views_open_p99_ratio<=1.5": result["views_open"]["p99_ratio"] <= 1.5,
        "rss_mb<=150": result["rss_mb_bot_delta"] <= 150,
        "answers_correct": result["software"]["bot"]["bad_answers"] == 0
        and result["computers"]["bot"]["bad_answers"] == 0,
    }
    result["goals"] = goals
    result["goals_met"] = all(goals.values())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10x smaller catalog and load")
    parser.add_argument("--scale", type=int, default=None, help="divide catalog and load by this (tests: 100)")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.CRITICAL)
    print(json.dumps(asyncio.run(bench(args.small, args.scale))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
