"""Benchmark: the catalog's cold start against a slow ImmyBot, next to plain httpx fetching the same pages.

    .venv/bin/python bench/catalog_load.py                 # 20,000 + 2,000 software, 50,000 computers, 400 ms a call
    .venv/bin/python bench/catalog_load.py --small         # 10x smaller (the smoke test uses --scale 100)
    .venv/bin/python bench/catalog_load.py --sequential    # also the reference fetching page after page (~45 s)

This process serves the fake Entra and the fake ImmyBot (`faults.latency`: every ImmyBot call answers
after `--latency` seconds). Each measured load runs in a fresh child process, so its peak RSS
(VmHWM) is its own:

* `bot`: the bot's modules imported (`bot.services`, as `immybot-slack run` has them), then
  `CatalogCache(ImmyBotClient(settings)).load()`. Meanwhile a probe types into both typeaheads
  every 10 ms (`search_software("chrome")`, `search_computers("contoso")`): the first non-empty
  answer of each, and the longest a probe waited (its sleep overshoot plus the search: how long a
  keystroke could be held up by the load: its 99th percentile and maximum).
* `httpx` (reference): what a user would write without our code: plain `httpx`, a token by
  client-credentials POST, both software lists and the dx pages 8 in flight, stop at the first
  short page, bodies read and not parsed. Its time is the floor the latency sets.
* `sequential` (reference, `--sequential`): the same plain httpx, one dx page after another.

Figures: seconds to the first software answer, to the first computer answer, to the full catalog;
RSS before the load (imports), peak during it and settled (2 s after). Goals (issue 16): first
answers <= 5 s, full <= 10 s, peak <= 150 MB, settled <= 120 MB. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOALS = {"first_answer_s": 5.0, "full_s": 10.0, "peak_rss_mb": 150.0, "settled_rss_mb": 120.0}
PAGE = 500
IN_FLIGHT = 8
SLACK_ENV = {  # placeholders: the loader reads settings, Slack is never called
    "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": "bench-signing-secret",
    "APPROVAL_CHANNEL": "C0APPROVE", "APPROVERS": "U0APPROVER",
}  # fmt: skip


def rss_mb() -> dict[str, float]:
    found: dict[str, float] = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return found


# ---- the children ----------------------------------------------------------------------------------


async def measure_bot() -> dict[str, Any]:
    import bot.services  # noqa: F401  (the modules a running bot holds)
    from bot.config import load_settings
    from bot.immybot.catalog import CatalogCache, release_memory
    from bot.immybot.client import ImmyBotClient
    from bot.slack.app import immybot_transport

    settings = load_settings()
    before = rss_mb()["VmRSS"]
    async with ImmyBotClient(settings, transport=immybot_transport()) as client:
        catalog = CatalogCache(client)
        first: dict[str, float] = {}
        waits_ms: list[float] = []
        started = time.perf_counter()
        loading = asyncio.create_task(catalog.load())
        while not loading.done():
            asked = time.perf_counter()
            await asyncio.sleep(0.01)
            woke = time.perf_counter()
            software = catalog.search_software("chrome")
            computers = catalog.search_computers("contoso")
            done = time.perf_counter()
            waits_ms.append((done - asked - 0.01) * 1000)
            for kind, answer in (("software", software), ("computers", computers)):
                if answer and kind not in first:
                    first[kind] = woke - started
        await loading
        full = time.perf_counter() - started
    gc.collect()
    release_memory()
    await asyncio.sleep(2)
    memory = rss_mb()
    return {
        "first_software_s": round(first.get("software", full), 2),
        "first_computers_s": round(first.get("computers", full), 2),
        "full_s": round(full, 2),
        "rss_before_mb": before,
        "peak_rss_mb": memory["VmHWM"],
        "settled_rss_mb": memory["VmRSS"],
        "keystroke_wait_p99_ms": round(sorted(waits_ms)[int(0.99 * (len(waits_ms) - 1))], 1) if waits_ms else 0.0,
        "keystroke_wait_max_ms": round(max(waits_ms, default=0.0), 1),
        "sizes": catalog.sizes,
    }


async def measure_httpx(in_flight: int) -> dict[str, Any]:
    import httpx

    env = os.environ
    base = env["IMMYBOT_BASE_URL"]
    before = rss_mb()["VmRSS"]
    started = time.perf_counter()
    async with httpx.AsyncClient(verify=env["REQUESTS_CA_BUNDLE"], timeout=60) as http:
        token_url = f"{env['IMMYBOT_AUTHORITY_HOST']}/{env['IMMYBOT_TENANT_ID']}/oauth2/v2.0/token"
        form = {"grant_type": "client_credentials", "client_id": env["IMMYBOT_CLIENT_ID"],
                "client_secret": env["IMMYBOT_CLIENT_SECRET"], "scope": f"{base}/.default"}  # fmt: skip
        token = (await http.post(token_url, data=form)).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"

        async def get(path: str, **params: Any) -> bytes:
            response = await http.get(f"{base}{path}", params=params)
            response.raise_for_status()
            return response.content

        async def computers() -> int:
            received, page, last = 0, 0, False
            while not last:
                batch = await asyncio.gather(*(get("/api/v1/computers/dx", skip=(page + i) * PAGE, take=PAGE)
                                               for i in range(in_flight)))
                page += in_flight
                for body in batch:  # parsed with the stdlib, as a user would: rows are DevExtreme `data`
                    rows = len(json.loads(body)["data"] or [])
                    received += rows
                    last = last or rows < PAGE
            return received

        software = asyncio.gather(get("/api/v1/software/global"), get("/api/v1/software/local"))
        count = await computers()
        await software
    full = time.perf_counter() - started
    memory = rss_mb()
    return {"full_s": round(full, 2), "rss_before_mb": before, "peak_rss_mb": memory["VmHWM"],
            "settled_rss_mb": memory["VmRSS"], "computers": count}  # fmt: skip


# ---- the parent ------------------------------------------------------------------------------------


async def run_child(kind: str, env: dict[str, str]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--measure", kind, env={**os.environ, **SLACK_ENV, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{kind} child failed: {err.decode()[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    from immybot_slack_sandbox.immy_data import generate
    from immybot_slack_sandbox.immy_sandbox import immy_sandbox

    sizes = {"global_software": args.global_software // args.scale, "local_software": args.local_software // args.scale,
             "computers": args.computers // args.scale}  # fmt: skip
    data = generate(7, computers=sizes["computers"], global_software=sizes["global_software"],
                    local_software=sizes["local_software"], tenants=120)
    result: dict[str, Any] = {"bench": "catalog_load", **sizes, "latency_s": args.latency, "dx_page": PAGE,
                              "reference_in_flight": IN_FLIGHT}
    with tempfile.TemporaryDirectory(prefix="bench-catalog-load-") as tmp:
        async with immy_sandbox(Path(tmp), data=data) as sandbox:
            sandbox.immybot.faults.latency(args.latency, "/api/v1/*")
            env = {k: v for k, v in sandbox.env.items()}
            result["bot"] = await run_child("bot", env)
            result["httpx"] = await run_child("httpx", env)
            if args.sequential:
                result["sequential"] = await run_child("sequential", env)
    ours, ref = result["bot"], result["httpx"]
    result["full_ratio_to_httpx"] = round(ours["full_s"] / ref["full_s"], 2)
    if "sequential" in result:
        result["full_ratio_to_sequential"] = round(ours["full_s"] / result["sequential"]["full_s"], 3)
    result["goals"] = GOALS
    result["ok"] = (
        max(ours["first_software_s"], ours["first_computers_s"]) <= GOALS["first_answer_s"]
        and ours["full_s"] <= GOALS["full_s"]
        and ours["peak_rss_mb"] <= GOALS["peak_rss_mb"]
        and ours["settled_rss_mb"] <= GOALS["settled_rss_mb"]
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10x smaller catalog")
    parser.add_argument("--scale", type=int, default=1, help="divide the catalog by this (the smoke test: 100)")
    parser.add_argument("--global-software", type=int, default=20_000)
    parser.add_argument("--local-software", type=int, default=2_000)
    parser.add_argument("--computers", type=int, default=50_000)
    parser.add_argument("--latency", type=float, default=0.4, help="seconds every ImmyBot call takes")
    parser.add_argument("--sequential", action="store_true", help="also the page-after-page reference")
    parser.add_argument("--measure", choices=("bot", "httpx", "sequential"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.CRITICAL)
    if args.measure == "bot":
        print(json.dumps(asyncio.run(measure_bot())), flush=True)
    elif args.measure:
        print(json.dumps(asyncio.run(measure_httpx(IN_FLIGHT if args.measure == "httpx" else 1))), flush=True)
    else:
        args.scale = max(args.scale, 10 if args.small else 1)
        print(json.dumps(asyncio.run(bench(args)), separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
