"""Benchmark: typeahead searches over the cached catalogs, against a plain rapidfuzz scan.

    .venv/bin/python bench/catalog_search.py            # 20,000 global + 2,000 local software, 50,000 computers
    .venv/bin/python bench/catalog_search.py --small    # 10x smaller, for the smoke test

The data is generated in-process (`immybot_slack_sandbox.immy_data`), serialised to JSON and parsed into the
cache's rows the way the client does, then indexed (`CatalogCache.from_rows`, no HTTP). Queries
are 2–5 letter lowercase fragments of real names, as typed in Slack. The reference, measured in
the same run on a sample of the same queries, is `rapidfuzz.process.extract(query, names,
limit=100)` over every name. Memory: `cache_mb` is what tracemalloc sees the cache hold once the
parsed rows are gone (the cache keeps none of them); `build_peak_mb` the most it saw during parsing
plus building, rows included. Goals: p99 <= 0.1x the reference's p99 (software and computers);
caches <= 35 MB. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import TypeAdapter
from rapidfuzz import process

from bot.immybot.catalog import CatalogCache
from bot.immybot.models import ComputerRow, SoftwareItem
from bot.workflow.model import Catalog
from immybot_slack_sandbox.immy_data import generate

P99_RATIO_GOAL = 0.1
CACHE_MB_GOAL = 35.0


def fragments(names: Sequence[str], count: int, rng: random.Random) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        name = rng.choice(names).lower()
        size = rng.randint(2, 5)
        if len(name) < size:
            continue
        start = rng.randint(0, len(name) - size)
        fragment = name[start : start + size]
        if fragment.strip():
            out.append(fragment)
    return out


def timings_ms(search: Callable[[str], Any], queries: Sequence[str]) -> list[float]:
    out = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


def percentile(sorted_ms: Sequence[float], q: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, round(q * (len(sorted_ms) - 1)))]


def build(raw: dict[str, bytes]) -> tuple[CatalogCache, float, float, float]:
    """Parse the JSON payloads into rows and index them; (cache, MB held, MB at peak, seconds)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    software: list[SoftwareItem] = []
    for catalog in (Catalog.LOCAL, Catalog.GLOBAL):
        for row in json.loads(raw[catalog.value]):
            software.append(SoftwareItem(id=row["id"], name=row["name"], catalog=catalog))
    computers = TypeAdapter(list[ComputerRow]).validate_json(raw["computers"])
    cache = CatalogCache.from_rows(software, computers)
    seconds = time.perf_counter() - started
    del software, computers
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return cache, (current - before) / 1e6, (peak - before) / 1e6, seconds


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10x smaller data and fewer queries")
    parser.add_argument("--global-software", type=int, default=20_000)
    parser.add_argument("--local-software", type=int, default=2_000)
    parser.add_argument("--computers", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1_000, help="queries per kind for the cache")
    parser.add_argument("--reference-queries", type=int, default=100, help="queries per kind for the reference")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.small:
        args.global_software //= 10
        args.local_software //= 10
        args.computers //= 10
        args.queries, args.reference_queries = 100, 20

    data = generate(
        args.seed,
        computers=args.computers,
        global_software=args.global_software,
        local_software=args.local_software,
        tenants=120,
    )
    raw = {
        Catalog.GLOBAL.value: json.dumps(data.global_software).encode(),
        Catalog.LOCAL.value: json.dumps(data.local_software).encode(),
        "computers": json.dumps(data.computers).encode(),
    }
    software_names = [s["name"] for s in (*data.local_software, *data.global_software)]
    computer_names = [c["computerName"] for c in data.computers]
    del data
    cache, cache_mb, peak_mb, build_s = build(raw)

    rng = random.Random(args.seed)
    sw_queries = fragments(software_names, args.queries, rng)
    pc_queries = fragments(computer_names, args.queries, rng)
    sw_ms = timings_ms(cache.search_software, sw_queries)
    pc_ms = timings_ms(cache.search_computers, pc_queries)
    ref_sw_ms = timings_ms(
        lambda q: process.extract(q, software_names, limit=100), sw_queries[: args.reference_queries]
    )
    ref_pc_ms = timings_ms(
        lambda q: process.extract(q, computer_names, limit=100), pc_queries[: args.reference_queries]
    )

    result: dict[str, Any] = {
        "bench": "catalog_search",
        "global_software": args.global_software,
        "local_software": args.local_software,
        "computers": args.computers,
        "queries_per_kind": args.queries,
        "reference_queries_per_kind": args.reference_queries,
        "build_s": round(build_s, 3),
        "cache_mb": round(cache_mb, 1),
        "build_peak_mb": round(peak_mb, 1),
        "software_p50_ms": round(percentile(sw_ms, 0.5), 4),
        "software_p99_ms": round(percentile(sw_ms, 0.99), 4),
        "computers_p50_ms": round(percentile(pc_ms, 0.5), 4),
        "computers_p99_ms": round(percentile(pc_ms, 0.99), 4),
        "reference_software_p50_ms": round(percentile(ref_sw_ms, 0.5), 3),
        "reference_software_p99_ms": round(percentile(ref_sw_ms, 0.99), 3),
        "reference_computers_p50_ms": round(percentile(ref_pc_ms, 0.5), 3),
        "reference_computers_p99_ms": round(percentile(ref_pc_ms, 0.99), 3),
    }
    result["software_p99_ratio"] = round(result["software_p99_ms"] / result["reference_software_p99_ms"], 4)
    result["computers_p99_ratio"] = round(result["computers_p99_ms"] / result["reference_computers_p99_ms"], 4)
    result["goals"] = {"p99_ratio_max": P99_RATIO_GOAL, "cache_mb_max": CACHE_MB_GOAL}
    result["ok"] = (
        result["software_p99_ratio"] <= P99_RATIO_GOAL
        and result["computers_p99_ratio"] <= P99_RATIO_GOAL
        and cache_mb <= CACHE_MB_GOAL
    )
    print(json.dumps(result, separators=(",", ":")))
    return result


if __name__ == "__main__":
    main()
