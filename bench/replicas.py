"""Benchmark: PostgreSQL with 1 and 2 replicas next to SQLite, in one run (SPEC §9).

    .venv/bin/python bench/replicas.py [--transitions 600] [--sessions 300] [--lease 1.0]

Starts its own PostgreSQL server (Debian's `postgresql` binaries, durable settings: fsync and
synchronous_commit on, like SQLite's synchronous=FULL) and prints one JSON line:
- audited transitions per second (submit + approve through the service: CAS, dedup key, audit row),
  each replica its own process with its own pool, 8 in flight per replica;
- session follow-up: sessions followed to the end per second (claim under a lease, three status writes
  and a reschedule per poll, like the follower; SQLite: the same status writes, no lease);
- takeover: a replica holding sessions stops (as if SIGKILLed); the time until the other holds them
  all, in leases (goal: at most two).
The reference is SQLite (what a single-machine install runs), in its own process, same work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.audit import _draft, _NoGroups
from bot.store import Store
from bot.store.pg import PgStore
from bot.workflow.model import RequestState, SessionInfo
from bot.workflow.policy import Policy
from bot.workflow.service import RequestService

IN_FLIGHT = 8
POLLS = 3  # Running, Running, Passed


def _open(where: str) -> Any:
    return PgStore.open(where, max_size=IN_FLIGHT + 2) if where.startswith("postgresql") else Store.open(where)


# ---- workers (each in its own process: `--worker KIND`) -------------------------------------------------


async def _until(start_at: float) -> None:
    await asyncio.sleep(max(0.0, start_at - time.time()))


async def transitions_worker(where: str, count: int, offset: int, start_at: float) -> int:
    store = await _open(where)
    policy = Policy({"UAPPROVER"}, set(), set(), set(), False, 25, timedelta(hours=24), _NoGroups(),
                    requests_per_hour=10**9)  # fmt: skip
    service = RequestService(store, policy)
    queue = iter(range(offset, offset + count))

    async def lane() -> None:
        for i in queue:
            draft = _draft(i).model_copy(update={"requester": f"UTECH{i % 40}"})  # many technicians
            request = await service.submit(draft, dedup_key=f"view:{i}")
            await service.approve(request.id, "UAPPROVER", dedup_key=f"button:{i}")

    try:
        await _until(start_at)
        await asyncio.gather(*(lane() for _ in range(IN_FLIGHT)))
    finally:
        await store.close()
    return count * 2


async def follow_worker(where: str, owner: str, lease: float, start_at: float) -> int:
    """Follow every session this replica can claim until none is left anywhere."""
    store = await _open(where)
    await _until(start_at)
    polls: dict[tuple[int, int], int] = {}
    done = 0

    async def poll(request_id: int, session_id: int) -> None:
        nonlocal done
        n = polls[(request_id, session_id)] = polls.get((request_id, session_id), 0) + 1
        now = datetime.now(UTC)
        async with store.write() as tx:
            await tx.set_session_status(request_id, session_id, "Passed" if n == POLLS else "Running",
                                        now if n == POLLS else None)  # fmt: skip
        if n == POLLS:
            done += 1
        elif isinstance(store, PgStore):
            await store.reschedule(owner, request_id, session_id, now)  # due again at once

    try:
        if isinstance(store, PgStore):
            while True:
                claims = await store.claim_due(owner, datetime.now(UTC), timedelta(seconds=lease), 50)
                if not claims:
                    async with store.read() as tx:
                        left = (await (await tx.conn.execute("SELECT COUNT(*) FROM session_watch")).fetchone())[0]
                    if not left:
                        break
                    await asyncio.sleep(0.005)
                    continue
                await _bounded([poll(c.request_id, c.session_id) for c in claims])
        else:
            async with store.read() as tx:
                running = await tx.in_states(tuple(RequestState))
            keys = [(r.id, s.session_id) for r in running for s in r.sessions]
            for _ in range(POLLS):
                await _bounded([poll(*key) for key in keys])
    finally:
        await store.close()
    return done


async def _bounded(calls: list[Any]) -> None:
    limit = asyncio.Semaphore(IN_FLIGHT)

    async def one(call: Any) -> None:
        async with limit:
            await call

    await asyncio.gather(*(one(c) for c in calls))


# ---- the parent ------------------------------------------------------------------------------------------


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--worker", *args], stdout=subprocess.PIPE, text=True)


def _together(commands: list[list[str]]) -> tuple[int, float]:
    """Run workers at once (one process each); (work done, wall seconds from the shared start)."""
    start_at = time.time() + 2.0  # every worker has imported and connected by then
    children = [_spawn(*c, "--start-at", str(start_at)) for c in commands]
    results = [json.loads(child.communicate()[0]) for child in children]
    return sum(r["done"] for r in results), max(r["ended"] for r in results) - start_at


async def _seed(where: str, sessions: int) -> None:
    store = await _open(where)
    try:
        now = datetime.now(UTC)
        for start in range(0, sessions, 10):
            async with store.write() as tx:
                request = await tx.insert_request(_draft(start), now)
                await tx.add_sessions(request.id, [SessionInfo(session_id=start + k + 1, computer_id=start + k)
                                                   for k in range(min(10, sessions - start))])  # fmt: skip
    finally:
        await store.close()


async def takeover(url: str, sessions: int, lease: float) -> float:
    """Seconds from a holder's death until another replica holds every session it held."""
    first, second = await PgStore.open(url, max_size=2), await PgStore.open(url, max_size=2)
    try:
        held = await first.claim_due("dead", datetime.now(UTC), timedelta(seconds=lease), sessions)
        died = time.monotonic()  # it never renews again
        taken: set[tuple[int, int]] = set()
        while len(taken) < len(held):
            for claim in await second.claim_due("alive", datetime.now(UTC), timedelta(seconds=lease), sessions):
                taken.add((claim.request_id, claim.session_id))
            await asyncio.sleep(lease / 3)  # the follower's claim interval
        return time.monotonic() - died
    finally:
        await first.close()
        await second.close()


def _fresh(server: Any, name: str) -> str:
    server.psql(f"CREATE DATABASE {name}")
    return server.url(name)


def main(args: argparse.Namespace) -> dict[str, Any]:
    from bench.pg_rig import durable_server, stop

    server = durable_server()
    work = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    configs = (("sqlite", 1), ("pg_1", 1), ("pg_2", 2))
    rates: dict[str, list[float]] = {f"{label}_{kind}": [] for label, _ in configs for kind in ("tx", "sessions")}
    try:
        # rounds interleave the configurations, so a noisy neighbour slows each alike; medians are reported
        for r in range(args.rounds):
            for label, replicas in configs:
                where = str(work / f"t{r}.db") if label == "sqlite" else _fresh(server, f"t_{label}_{r}")
                asyncio.run(_seed(where, 0))  # migrated before the clock starts
                share = args.transitions // 2 // replicas
                done, seconds = _together([["transitions", where, str(share), str(k * share)] for k in range(replicas)])
                rates[f"{label}_tx"].append(done / seconds)
                where = str(work / f"f{r}.db") if label == "sqlite" else _fresh(server, f"f_{label}_{r}")
                asyncio.run(_seed(where, args.sessions))
                done, seconds = _together([["follow", where, f"r{k}", str(args.lease)] for k in range(replicas)])
                assert done == args.sessions, (label, done)
                rates[f"{label}_sessions"].append(done / seconds)
        where = _fresh(server, "k")
        asyncio.run(_seed(where, args.sessions))
        takeover_s = asyncio.run(takeover(where, args.sessions, args.lease))
    finally:
        stop(server)
    result: dict[str, Any] = {"bench": "replicas", "transitions": args.transitions, "sessions": args.sessions,
                              "rounds": args.rounds, "lease_s": args.lease, "in_flight": IN_FLIGHT}  # fmt: skip
    for label, _ in configs:
        result[f"{label}_transitions_per_s"] = round(median(rates[f"{label}_tx"]), 1)
        result[f"{label}_sessions_per_s"] = round(median(rates[f"{label}_sessions"]), 1)
    for kind, key in (("transitions", "tx"), ("sessions", "sessions")):
        per_round = [two / one for two, one in zip(rates[f"pg_2_{key}"], rates[f"pg_1_{key}"], strict=True)]
        result[f"{kind}_pg_2_vs_1"] = round(median(per_round), 2)
        result[f"{kind}_pg_2_vs_1_rounds"] = [round(x, 2) for x in per_round]
        result[f"{kind}_pg_1_vs_sqlite"] = round(result[f"pg_1_{kind}_per_s"] / result[f"sqlite_{kind}_per_s"], 2)
    result["takeover_s"] = round(takeover_s, 3)
    result["takeover_leases"] = round(takeover_s / args.lease, 2)
    result["goals"] = {"two_replicas_do_not_halve": result["transitions_pg_2_vs_1"] > 0.5
                       and result["sessions_pg_2_vs_1"] > 0.5,
                       "takeover_within_two_leases": result["takeover_leases"] <= 2.0}  # fmt: skip
    return result


def worker(argv: list[str]) -> None:
    kind, *rest = argv
    start_at = float(rest[rest.index("--start-at") + 1])
    rest = rest[: rest.index("--start-at")]
    if kind == "transitions":
        done = asyncio.run(transitions_worker(rest[0], int(rest[1]), int(rest[2]), start_at))
    else:
        done = asyncio.run(follow_worker(rest[0], rest[1], float(rest[2]), start_at))
    print(json.dumps({"done": done, "ended": time.time()}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=600)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--lease", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    print(json.dumps(main(parser.parse_args())))
