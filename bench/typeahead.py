"""Typeahead and `/immy` → views.open: the running bot against the floor, a bare Bolt app on Bolt's server.

The fake ImmyBot holds 20,000 global + 2,000 local software and 50,000 computers and answers every call
after 400 ms. 1,000 software and 1,000 computer queries (2–5 character fragments cut from real names,
lowercased), 50 at a time, signed like Slack, go to the bot's `/slack/events`; the same load goes to
the floor. Then 200 `/immy` commands, 20 at a time, timed until the fake Slack records the `views.open`.
Prints one JSON line.

The floor (bench/typeahead_apps.py) is what a user would write instead: a bare `slack_bolt` AsyncApp
served by Bolt's own aiohttp server (`AsyncSlackAppServer`, as `app.start()` does), importing nothing
from `bot`. Its options listener answers, per field, the bot's own fullest answer to sample queries
(same number of options, same text), and its `/immy` opens the very modal the bot opened (both written
to JSON files here first).

Fairness: the bot and the floor each run in their own child process; this process holds the fakes and
the load generator, so their CPU is no one's and equal for both. The load runs in ROUNDS interleaved
rounds (bot first, then floor first, ...) so drift on a shared machine hits both. An answer is wrong when
it has more than 100 options, or when some name contains the query and the answer is empty or its
first option does not contain it. Resident memory is the bot process's own VmRSS; `cpu_ms_per_request`
is each process's own CPU time (/proc/<pid>/stat) over its rounds, per request.

    python bench/typeahead.py            # full size
    python bench/typeahead.py --small    # 10x smaller, for the smoke test
    python bench/typeahead.py --small --policy   # + the computer typeahead (new fragments) from the bot
                                                 #   and from a bot with a 20-scope POLICY_FILE (the
                                                 #   technician in 3 scopes), both against the floor
    BENCH_PYSPY=$(which py-spy) python bench/typeahead.py   # each child under `py-spy record`: raw stacks
                                                 #   in $BENCH_PYSPY_DIR (default /tmp), pyspy-bot.txt, pyspy-floor.txt
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from ranking import _alnum, matches_somehow  # bench/ranking.py: the same judge of "matches"

from bot.slack.requests import ids
from immybot_slack_sandbox import slack_payloads as p
from immybot_slack_sandbox.immy_data import generate
from immybot_slack_sandbox.immy_sandbox import immy_sandbox
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_seed import seed_workspace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from typeahead_apps import SECRET, child, cpu_seconds, floor_command

ROUNDS = 5
SCRIPT = str(Path(__file__).resolve())


def signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}",
            "content-type": "application/x-www-form-urlencoded"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    found: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return found


def fragments(names: list[str], count: int, rng: random.Random) -> list[str]:
    """2–5 character slices of real names as typed: lowercased, no edge spaces. (Cutting them from the
    name with spaces and punctuation removed made `"lt0"` of `CONTOSO-LT-0001`: no name contains it.)"""
    out: list[str] = []
    while len(out) < count:
        name = " ".join(rng.choice(names).lower().split())
        size = rng.randint(2, 5)
        if len(name) < size:
            continue
        start = rng.randint(0, len(name) - size)
        fragment = name[start : start + size]
        if fragment == fragment.strip():
            out.append(fragment)
    return out


Check = Callable[[str, list[dict]], bool]


def answer_check(names: list[str]) -> Check:
    """Right, as issue 16 defines matching (punctuation and spacing do not matter): at most 100 options;
    when some name holds the query's letters and digits, the first option does too; and no option
    matches the query in no way (`bench/ranking.py`'s independent judge)."""
    haystack = "\n".join(_alnum(name) for name in names)

    def ok(query: str, options: list[dict]) -> bool:
        if len(options) > 100:
            return False
        shown = [option["text"]["text"] for option in options]
        if not all(matches_somehow(query, text) for text in shown):
            return False
        wanted = _alnum(query)
        if not wanted or wanted not in haystack:
            return True
        return bool(shown) and wanted in _alnum(shown[0])

    return ok


class Tally:
    """Latencies, wall time and wrong answers of one app, summed over the interleaved rounds."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.wall = 0.0
        self.cpu = 0.0  # CPU seconds the app's process used during its rounds
        self.bad = 0
        self.rounds: list[tuple[float, float]] = []  # (p99 s, requests/s) of each round

    def close_round(self, first: int, wall: float) -> None:
        latencies = self.latencies[first:]
        self.rounds.append((percentile(latencies, 0.99), len(latencies) / wall))

    def summary(self, *, throughput: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"p50_ms": round(statistics.median(self.latencies) * 1000, 2),
                               "p99_ms": round(percentile(self.latencies, 0.99) * 1000, 2)}
        out["cpu_ms_per_request"] = round(self.cpu * 1000 / len(self.latencies), 3)
        if throughput:
            out.update(throughput_rps=round(len(self.latencies) / self.wall, 1), bad_answers=self.bad)
        return out


Prepared = tuple[str, bytes, dict[str, str]]  # query, body, signed headers


class Sender:
    """Posts prepared options loads to one app. Bodies are built and signed before a round starts and
    answers are decoded and checked after it ends, so the load generator spends its CPU on I/O only."""

    def __init__(self, http: aiohttp.ClientSession, url: str, payload: dict[str, Any], action_id: str,
                 pid: int) -> None:
        self.http, self.url, self.payload, self.action_id, self.pid = http, url, payload, action_id, pid

    def prepare(self, queries: list[str]) -> list[Prepared]:
        out = []
        for query in queries:
            body = urlencode({"payload": json.dumps({**self.payload, "action_id": self.action_id,
                                                     "value": query})}).encode()
            out.append((query, body, signed(body)))
        return out

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[float, int, bytes]:
        started = time.perf_counter()
        async with self.http.post(self.url, data=body, headers=headers) as response:
            raw = await response.read()
        return time.perf_counter() - started, response.status, raw

    async def options(self, query: str) -> list[dict]:
        [(_, body, headers)] = self.prepare([query])
        _, status, raw = await self.post(body, headers)
        return decode_options(status, raw)


def decode_options(status: int, raw: bytes) -> list[dict]:
    return json.loads(raw).get("options", []) if status == 200 and raw else []


async def run_load(sender: Sender, queries: list[str], concurrency: int, tally: Tally,
                   check: Check | None = None) -> None:
    queue = sender.prepare(queries)
    answers: list[tuple[str, int, bytes]] = []

    async def worker() -> None:
        while queue:
            query, body, headers = queue.pop()
            seconds, status, raw = await sender.post(body, headers)
            tally.latencies.append(seconds)
            answers.append((query, status, raw))

    started, first, cpu = time.perf_counter(), len(tally.latencies), cpu_seconds(sender.pid)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    tally.wall += time.perf_counter() - started
    tally.cpu += cpu_seconds(sender.pid) - cpu
    tally.close_round(first, time.perf_counter() - started)
    if check is not None:
        tally.bad += sum(not check(query, decode_options(status, raw)) for query, status, raw in answers)


async def interleaved(chunks: list[Any], ours: Callable[[Any], Awaitable[None]],
                      ref: Callable[[Any], Awaitable[None]]) -> None:
    """Round i runs the same chunk against both apps, bot first in even rounds, the floor first in odd ones."""
    for i, chunk in enumerate(chunks):
        for run in ((ours, ref) if i % 2 == 0 else (ref, ours)):
            await run(chunk)


async def views_open_load(http: aiohttp.ClientSession, app: dict[str, Any], fake: FakeSlack, user: str,
                          total: int, concurrency: int, tally: Tally) -> None:
    """`total` `/immy` commands, each timed from the POST until the fake Slack has its views.open."""
    prepared = []
    for _ in range(total):
        trigger = fake.mint_trigger(user)
        fields = {"command": "/immy", "text": "", "user_id": user, "user_name": "alice", "channel_id": "C0OPS",
                  "channel_name": "it-ops", "team_id": fake.team_id, "team_domain": "fake-msp",
                  "api_app_id": fake.app_id, "trigger_id": trigger, "token": "unused",
                  "response_url": fake.mint_response_url("command", user, "C0OPS")}
        body = urlencode(fields).encode()
        prepared.append((trigger, body, signed(body)))

    async def one(trigger: str, body: bytes, headers: dict[str, str]) -> None:
        started = time.perf_counter()
        async with http.post(app["url"] + "/slack/events", data=body, headers=headers) as response:
            await response.read()
        await fake.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger, timeout=10)
        tally.latencies.append(time.perf_counter() - started)

    async def worker() -> None:
        while prepared:
            await one(*prepared.pop())

    started, first, cpu = time.perf_counter(), len(tally.latencies), cpu_seconds(app["pid"])
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    tally.wall += time.perf_counter() - started
    tally.cpu += cpu_seconds(app["pid"]) - cpu
    tally.close_round(first, time.perf_counter() - started)


# ---- the run ------------------------------------------------------------------------------------------


async def typeahead(senders: list[Sender], queries: list[str], check: Check) -> dict[str, Any]:
    """The same queries to the bot (answers checked) and to the floor, in interleaved rounds."""
    ours, ref = Tally(), Tally()
    await interleaved([queries[i::ROUNDS] for i in range(ROUNDS) if queries[i::ROUNDS]],
                      lambda chunk: run_load(senders[0], chunk, 50, ours, check),
                      lambda chunk: run_load(senders[1], chunk, 50, ref))
    return ratios(ours, ref)


async def policy_typeahead(senders: list[Sender], queries: list[str], plain_check: Check,
                           scoped_check: Check) -> dict[str, Any]:
    """The same queries to the bot without a policy, the bot with one, and the floor, in the same rounds
    (each round in a rotated order), so both bots' ratios to the floor are measured side by side."""
    plain, scoped, ref = Tally(), Tally(), Tally()
    runs = [lambda chunk: run_load(senders[0], chunk, 50, plain, plain_check),
            lambda chunk: run_load(senders[1], chunk, 50, scoped, scoped_check),
            lambda chunk: run_load(senders[2], chunk, 50, ref)]
    for i, chunk in enumerate(q for q in (queries[i::ROUNDS] for i in range(ROUNDS)) if q):
        for run in runs[i % 3:] + runs[:i % 3]:
            await run(chunk)
    return {"without_policy": ratios(plain, ref), "with_policy": ratios(scoped, ref)}


def ratios(ours: Tally, ref: Tally, *, throughput: bool = True) -> dict[str, Any]:
    out = {"bot": ours.summary(throughput=throughput), "floor": ref.summary(throughput=throughput)}
    out["p50_ratio"] = round(out["bot"]["p50_ms"] / out["floor"]["p50_ms"], 2)
    out["p99_ratio"] = round(out["bot"]["p99_ms"] / out["floor"]["p99_ms"], 2)
    out["cpu_ratio"] = round(out["bot"]["cpu_ms_per_request"] / max(out["floor"]["cpu_ms_per_request"], 1e-9), 2)
    if throughput:
        out["throughput_ratio"] = round(out["bot"]["throughput_rps"] / out["floor"]["throughput_rps"], 2)
    # The same ratios round by round (each round runs both apps back to back): their spread shows how
    # much the shared machine moved during the run; the median is robust to one disturbed round.
    pairs = list(zip(ours.rounds, ref.rounds, strict=True))
    out["p99_ratio_by_round"] = [round(a[0] / b[0], 2) for a, b in pairs]
    out["p99_ratio_median_round"] = round(statistics.median(out["p99_ratio_by_round"]), 2)
    if throughput:
        out["throughput_ratio_by_round"] = [round(a[1] / b[1], 2) for a, b in pairs]
        out["throughput_ratio_median_round"] = round(statistics.median(out["throughput_ratio_by_round"]), 2)
    return out


def write_json(path: str, value: Any) -> None:
    Path(path).write_text(json.dumps(value))


async def sample_answers(senders: dict[str, Sender], queries: dict[str, list[str]]) -> dict[str, list[dict]]:
    """Per action id, the bot's fullest answer to a few sample queries: what the floor will answer."""
    fullest: dict[str, list[dict]] = {}
    for action_id, send in senders.items():
        for query in queries[action_id]:
            options = await send.options(query)
            if len(json.dumps(options)) > len(json.dumps(fullest.get(action_id, []))):
                fullest[action_id] = options
    return fullest


def scoped_policy(folder: str, tenants: list[dict[str, Any]], user: str) -> tuple[str, Any]:
    """A 20-scope POLICY_FILE (bench/policy_scope.py's) naming `user` in 3 scopes; its path and their tenants."""
    from policy_scope import policy_text

    from bot.policy_file import load_policy
    from bot.workflow.rules import tenants_for

    text = policy_text(tenants, 20, random.Random(7))
    for lead in ("U0LEAD03", "U0LEAD07", "U0LEAD11"):
        text = text.replace(lead, user)
    path = Path(folder) / "policy.yml"
    path.write_text(text)
    return str(path), tenants_for(load_policy(path), user, frozenset())


async def bench(small: bool, scale: int | None = None, policy: bool = False,
                answer_cache: bool = True) -> dict[str, Any]:
    scale = scale or (10 if small else 1)
    sizes = {"global": 20_000 // scale, "local": 2_000 // scale, "computers": 50_000 // scale}
    n_queries, n_commands = 1000 // scale, 200 // scale
    rng = random.Random(42)
    data = generate(7, computers=sizes["computers"], global_software=sizes["global"],
                    local_software=sizes["local"], tenants=30)
    software_names = [s["name"] for s in data.global_software + data.local_software]
    computer_names = [c["computerName"] for c in data.computers]
    fields = (("software", ids.SOFTWARE_BLOCK, ids.SOFTWARE_ACTION, software_names),
              ("computers", ids.COMPUTERS_BLOCK, ids.COMPUTERS_ACTION, computer_names))
    queries = {kind: fragments(names, n_queries, rng) for kind, _, _, names in fields}
    fake = FakeSlack()
    ws = seed_workspace(fake)
    result: dict[str, Any] = {"benchmark": "typeahead", "small": small, "catalog": sizes, "queries": n_queries,
                              "commands": n_commands, "concurrency": 50, "rounds": ROUNDS,
                              "immybot_latency_ms": 400, "answer_cache": answer_cache,
                              "layout": "bot and floor (bare Bolt app on Bolt's aiohttp server) in child processes"}
    connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=2)  # below both servers' keep-alive
    with tempfile.TemporaryDirectory(prefix="bench-typeahead-") as tmp:
        async with fake.serve(), immy_sandbox(Path(tmp), data=data) as sandbox:
            sandbox.immybot.faults.latency(0.4)
            config = {"role": "bot", "answer_cache": answer_cache, "tmp": tmp, "api_url": fake.api_url,
                      "bot_token": fake.bot_token,
                      "env": sandbox.env, "options_file": f"{tmp}/floor-options.json",
                      "modal_file": f"{tmp}/floor-modal.json"}
            ca = {"REQUESTS_CA_BUNDLE": sandbox.env["REQUESTS_CA_BUNDLE"]}
            async with child([SCRIPT, "--serve", "bot"], config, ca) as bot, \
                    aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
                result["catalog_load_s"] = bot["ready_s"]
                result["rss_mb_after_catalog"] = rss_mb(bot["pid"])["VmRSS"]
                bot_url = bot["url"] + "/slack/events"
                # One real modal: the view the block_suggestion payloads refer to, and the floor's modal.
                body = urlencode({"command": "/immy", "text": "", "user_id": ws.requester, "channel_id": "C0OPS",
                                  "team_id": fake.team_id, "trigger_id": fake.mint_trigger(ws.requester),
                                  "response_url": fake.mint_response_url("command", ws.requester, "C0OPS")}).encode()
                async with http.post(bot_url, data=body, headers=signed(body)) as response:
                    await response.read()
                view = await fake.wait_until(lambda: fake.latest_view(ws.requester), timeout=10)
                write_json(config["modal_file"], fake.calls("views.open")[-1].params["view"])
                payload = {**p.base(fake), "type": "block_suggestion", "user": p.user_ref(fake, ws.requester),
                           "container": {"type": "view", "view_id": view.id},
                           "view": view.to_api(team_id=fake.team_id, app_id=fake.app_id, bot_id=fake.bot_id)}

                def sender(app: dict[str, Any], block_id: str, action_id: str) -> Sender:
                    return Sender(http, app["url"] + "/slack/events", {**payload, "block_id": block_id}, action_id,
                                  app["pid"])

                samples = await sample_answers({a: sender(bot, b, a) for _, b, a, _ in fields},
                                               {a: queries[kind][:20] for kind, _, a, _ in fields})
                write_json(config["options_file"], samples)
                result["options_per_answer"] = {kind: len(samples[a]) for kind, _, a, _ in fields}
                async with child(floor_command(), {**config, "role": "floor"}) as floor:
                    result["rss_mb_floor"] = rss_mb(floor["pid"])["VmRSS"]
                    floor_url = floor["url"] + "/slack/events"
                    for url in (bot_url, floor_url):
                        async with http.post(url, data=b"", headers=signed(b"")) as response:
                            await response.read()  # open a connection
                    for kind, block_id, action_id, names in fields:
                        senders = [sender(app, block_id, action_id) for app in (bot, floor)]
                        result[kind] = await typeahead(senders, queries[kind], answer_check(names))
                    ours, ref = Tally(), Tally()
                    per_round = [n_commands // ROUNDS or 1] * ROUNDS
                    await interleaved(per_round,
                                      lambda n: views_open_load(http, bot, fake, ws.requester, n, 20, ours),
                                      lambda n: views_open_load(http, floor, fake, ws.requester, n, 20, ref))
                    result["views_open"] = ratios(ours, ref, throughput=False)
                    if policy:  # the same computer queries, from a bot whose POLICY_FILE scopes the technician
                        path, scope = scoped_policy(tmp, data.tenants, ws.requester)
                        for n in range(19):  # the policy's groups exist (the technician in none of them)
                            fake.add_group(f"S0GROUP{n:02d}", f"group-{n}", [])
                        fake.add_group("S0MSPADMINS", "msp-admins", [])
                        names = [c["computerName"] for c in data.computers
                                 if scope.contains(c["tenantId"], c["tenantName"])]
                        scoped_config = {**config, "policy_file": path, "db": "bench-policy.db", "role": "bot-policy"}
                        async with child([SCRIPT, "--serve", "bot"], scoped_config, ca) as scoped:
                            url = scoped["url"] + "/slack/events"
                            async with http.post(url, data=b"", headers=signed(b"")) as response:
                                await response.read()
                            warm = sender(scoped, ids.COMPUTERS_BLOCK, ids.COMPUTERS_ACTION)
                            for query in queries["computers"][:20]:  # as sample_answers warmed the first bot
                                await warm.options(query)
                            result["computers_with_policy"] = {
                                "scopes": 20, "computers_in_scope": len(names),
                                **await policy_typeahead(
                                    [sender(app, ids.COMPUTERS_BLOCK, ids.COMPUTERS_ACTION)
                                     for app in (bot, scoped, floor)],
                                    # fresh fragments: neither bot has answered (and cached) them yet
                                    fragments(computer_names, n_queries, random.Random(43)),
                                    answer_check(computer_names), answer_check(names))}
                memory = rss_mb(bot["pid"])
                result["rss_mb_bot_end"], result["rss_mb_bot_peak"] = memory["VmRSS"], memory["VmHWM"]
    goals = {
        "software_p99_ratio<=1.25": result["software"]["p99_ratio"] <= 1.25,
        "software_throughput_ratio>=0.8": result["software"]["throughput_ratio"] >= 0.8,
        "computers_p99_ratio<=1.25": result["computers"]["p99_ratio"] <= 1.25,
        "computers_throughput_ratio>=0.8": result["computers"]["throughput_ratio"] >= 0.8,
        "views_open_p99_ratio<=1.25": result["views_open"]["p99_ratio"] <= 1.25,
        "rss_mb<=150": result["rss_mb_after_catalog"] <= 150,
        "answers_correct": result["software"]["bot"]["bad_answers"] == 0
        and result["computers"]["bot"]["bad_answers"] == 0,
    }
    result["goals"] = goals
    result["goals_met"] = all(goals.values())
    return result


# ---- the bot's child process --------------------------------------------------------------------------


def settings_for(config: dict[str, Any]) -> Any:
    from immybot_slack_sandbox.demo import DemoSettings

    env = config["env"]
    return DemoSettings(
        slack_bot_token=config["bot_token"], slack_signing_secret=SECRET, slack_app_token=None,
        slack_api_url=config["api_url"], immybot_base_url=env["IMMYBOT_BASE_URL"],
        immybot_tenant_id=env["IMMYBOT_TENANT_ID"], immybot_client_id=env["IMMYBOT_CLIENT_ID"],
        immybot_client_secret=env["IMMYBOT_CLIENT_SECRET"], immybot_authority_host=env["IMMYBOT_AUTHORITY_HOST"],
        approval_channel="C0APPROVE", approvers="U0BOB", audit_db=Path(config["tmp"]) / config.get("db", "bench.db"),
        policy_file=config.get("policy_file"),
        catalog_refresh_minutes=60, port=0, log_level="ERROR", log_format="text",
    )


async def serve_bot(config: dict[str, Any]) -> None:
    """In the child: the whole bot as `immybot-slack run` serves it; print `{"url": ...}`, stop at EOF."""
    from bot.runner import freeze_once_loaded
    from bot.services import running_bot

    if not config.get("answer_cache", True):  # --no-answer-cache: a cache that keeps nothing
        from bot.slack.requests.answers import AnswerCache

        AnswerCache.__init__.__defaults__ = (0,)
    started = time.perf_counter()
    async with running_bot(settings_for(config), socket=False) as bot:
        await freeze_once_loaded(bot)  # as `immybot-slack run` does once its catalog is loaded
        print(json.dumps({"url": bot.url, "ready_s": round(time.perf_counter() - started, 2), "pid": os.getpid()}),
              flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10x smaller catalog and load")
    parser.add_argument("--scale", type=int, default=None, help="divide catalog and load by this (tests: 100)")
    parser.add_argument("--policy", action="store_true", help="also the computer typeahead with a 20-scope policy")
    parser.add_argument("--no-answer-cache", action="store_true",
                        help="the bot without its answer cache: every load searched, labelled and encoded")
    parser.add_argument("--serve", choices=("bot",), help=argparse.SUPPRESS)  # the bot's child process
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.CRITICAL)
    if args.serve:
        from bot.runner import run_event_loop

        run_event_loop(serve_bot(json.loads(os.environ["BENCH_CONFIG"])))
        return 0
    print(json.dumps(asyncio.run(bench(args.small, args.scale, args.policy, not args.no_answer_cache))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
