"""Benchmark: audited transitions/s and audit export speed and memory, each against a reference.

    .venv/bin/python bench/audit.py [--rows 1000000] [--transitions 1000]

Prints one JSON line. References are measured in the same run, on the same disk, with the same
pragmas (WAL, synchronous=FULL):
- plain single-row inserts into a bare table, one `BEGIN IMMEDIATE … COMMIT` each, via aiosqlite;
- a plain `SELECT` of every audit column over the same rows, via aiosqlite `fetchmany` batches.
Goals: transitions >= 0.3x plain inserts; export rows/s >= 0.5x plain select; export peak memory
flat in row count (measured at rows/10 and rows).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.store import Store
from bot.store.audit import BATCH, COLUMNS, INSERT_SQL
from bot.store.audit_cli import open_readonly, write_export
from bot.store.store import connect
from bot.workflow.model import Catalog, Computer, DesiredState, Draft, RunOptions, Software, Targets
from bot.workflow.policy import Policy
from bot.workflow.service import RequestService


class _NoGroups:
    async def members(self, group_id: str) -> frozenset[str]:
        return frozenset()


def _draft(i: int) -> Draft:
    return Draft(
        requester="UREQUESTER",
        channel="C0REQUESTS",
        software=Software(id=714, name="7-Zip", catalog=Catalog.GLOBAL),
        action=DesiredState.LATEST,
        targets=Targets(computers=(Computer(id=i, name=f"PC-{i}"), Computer(id=i + 1, name=f"PC-{i + 1}"))),
        options=RunOptions(),
        reason=f"ticket {i}",
    )


class TransitionBench:
    """submit + approve through the service: each a CAS + audit row + dedup key in one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done = 0

    async def __aenter__(self) -> TransitionBench:
        self.store = await Store.open(self.path)
        policy = Policy({"UAPPROVER"}, set(), set(), set(), False, 25, timedelta(hours=24), _NoGroups(),
                        requests_per_hour=10**9)  # one bench requester makes them all
        self.service = RequestService(self.store, policy)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.store.close()

    async def run(self, count: int) -> float:
        started = time.perf_counter()
        for _ in range(count // 2):
            i = self.done = self.done + 1
            request = await self.service.submit(_draft(i), dedup_key=f"view:{i}")
            await self.service.approve(request.id, "UAPPROVER", dedup_key=f"button:{i}")
        return time.perf_counter() - started


class PlainInsertBench:
    """The reference: one-row inserts into a bare table, one BEGIN IMMEDIATE … COMMIT each."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def __aenter__(self) -> PlainInsertBench:
        self.conn = await connect(self.path, migrate_to=None)  # same pragmas
        await self.conn.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.close()

    async def run(self, count: int) -> float:
        started = time.perf_counter()
        for i in range(count):
            await self.conn.execute("BEGIN IMMEDIATE")
            await self.conn.execute("INSERT INTO plain (v) VALUES (?)", (f"row {i}",))
            await self.conn.execute("COMMIT")
        return time.perf_counter() - started


async def transitions_vs_inserts(workdir: Path, count: int, rounds: int = 10) -> tuple[float, float]:
    """Alternate rounds of both, so a noisy neighbour slows both alike."""
    audited = plain = 0.0
    per_round = max(2, count // rounds)
    async with TransitionBench(workdir / "service.db") as service, PlainInsertBench(workdir / "plain.db") as bare:
        for _ in range(rounds):
            audited += await service.run(per_round)
            plain += await bare.run(per_round)
    done = (per_round // 2) * 2 * rounds
    return done / audited, per_round * rounds / plain


_SOFTWARE = '{"catalog":"Global","id":714,"name":"7-Zip"}'


def extend_log(path: Path, upto: int) -> None:
    """Bulk-append rows until the log holds `upto`, with a valid chain (checked by `audit verify` below).

    The canonical JSON is written out by hand (keys in sorted order) to generate a million rows
    quickly; `verify_run` recomputes every hash with `json.dumps`, so a mistake here fails the run.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # generation only; the measured runs reopen with FULL
    head = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    row_id, prev = head if head else (0, "0" * 64)
    while row_id < upto:
        batch = []
        for _ in range(min(50_000, upto - row_id)):
            row_id += 1
            approved = row_id % 2 == 0
            event, actor = ("request.approved", "UAPPROVER") if approved else ("request.created", "UREQUESTER")
            minutes, seconds = divmod(row_id, 60)
            hours, minutes = divmod(minutes, 60)
            days, hours = divmod(hours, 24)
            at = f"2026-01-{1 + days:02d}T{hours:02d}:{minutes:02d}:{seconds:02d}.000000Z"
            targets = f'[{{"id":{row_id},"name":"PC-{row_id}"}},{{"email":"ana@example.com"}}]'
            reason = f"ticket {row_id}: update for CVE-2026-{row_id % 9999:04d}"
            request_id = (row_id + 1) // 2
            body = (
                f'{{"action":"LatestVersion","actor":"{actor}","at":"{at}","decision_reason":null,'
                f'"event":"{event}","id":{row_id},"immybot_session_ids":null,"outcome":null,'
                f'"prev_hash":"{prev}","reason":"{reason}","request_id":{request_id},'
                f'"requester":"UREQUESTER","software":{_SOFTWARE},"targets":{targets}}}'
            )
            digest = hashlib.sha256((prev + body).encode()).hexdigest()
            batch.append(
                (row_id, at, request_id, event, actor, "UREQUESTER", _SOFTWARE, "LatestVersion", targets, reason,
                 None, None, None, prev, digest)
            )  # fmt: skip
            prev = digest
        conn.execute("BEGIN")
        conn.executemany(INSERT_SQL, batch)
        conn.execute("COMMIT")
    conn.close()


class _Sink:
    """A text stream that counts and drops what it is given (like stdout to /dev/null, minus the syscalls)."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


async def export_run(path: Path, fmt: str, *, trace: bool = False) -> tuple[float, int, int]:
    """(seconds, rows, peak traced bytes) for one export."""
    conn = await open_readonly(path)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    rows = await write_export(conn, _Sink(), fmt)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    await conn.close()
    return elapsed, rows, peak


async def plain_select(path: Path) -> tuple[float, int]:
    conn = await open_readonly(path)
    rows = 0
    started = time.perf_counter()
    async with conn.execute(f"SELECT {COLUMNS} FROM audit ORDER BY id") as cursor:
        while batch := await cursor.fetchmany(BATCH):
            rows += len(batch)
    elapsed = time.perf_counter() - started
    await conn.close()
    return elapsed, rows


async def verify_run(path: Path) -> tuple[float, bool]:
    from bot.store.audit_cli import verify_file

    started = time.perf_counter()
    report = await verify_file(path)
    return time.perf_counter() - started, report.ok


async def main(rows: int, transitions: int, workdir: Path) -> dict[str, object]:
    result: dict[str, object] = {"bench": "audit", "rows": rows, "transitions": transitions}
    tps, ips = await transitions_vs_inserts(workdir, transitions)
    result |= {
        "audited_transitions_per_s": round(tps, 1),
        "plain_inserts_per_s": round(ips, 1),
        "transitions_ratio": round(tps / ips, 3),
        "transitions_goal": 0.3,
    }
    log = workdir / "export.db"
    await (await Store.open(log)).close()  # creates the schema
    small = max(1, rows // 10)
    gen_started = time.perf_counter()
    extend_log(log, small)
    _, _, peak_small = await export_run(log, "jsonl", trace=True)
    extend_log(log, rows)
    result["generate_s"] = round(time.perf_counter() - gen_started, 2)
    select_s, selected = await plain_select(log)
    jsonl_s, exported, _ = await export_run(log, "jsonl")
    csv_s, _, _ = await export_run(log, "csv")
    _, _, peak_large = await export_run(log, "jsonl", trace=True)
    _, _, peak_csv = await export_run(log, "csv", trace=True)
    verify_s, verified = await verify_run(log)
    assert selected == exported == rows and verified
    result |= {
        "plain_select_rows_per_s": round(selected / select_s),
        "export_jsonl_rows_per_s": round(rows / jsonl_s),
        "export_csv_rows_per_s": round(rows / csv_s),
        "export_jsonl_ratio": round(select_s / jsonl_s, 3),
        "export_csv_ratio": round(select_s / csv_s, 3),
        "export_goal": 0.5,
        "export_jsonl_s": round(jsonl_s, 3),
        "export_csv_s": round(csv_s, 3),
        f"export_peak_kib_at_{small}": round(peak_small / 1024, 1),
        f"export_peak_kib_at_{rows}": round(peak_large / 1024, 1),
        f"export_csv_peak_kib_at_{rows}": round(peak_csv / 1024, 1),
        "verify_rows_per_s": round(rows / verify_s),
    }
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="audit rows to export (default 1,000,000)")
    parser.add_argument("--transitions", type=int, default=1000, help="audited transitions to time")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        print(json.dumps(asyncio.run(main(args.rows, args.transitions, Path(tmp)))), flush=True)
