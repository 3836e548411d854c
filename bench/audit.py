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
import json
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.store import Store
from bot.store.audit import BATCH, COLUMNS, INSERT_SQL, AuditEntry, build_row, db_values
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


async def audited_transitions(path: Path, count: int) -> float:
    """submit + approve through the service (each: CAS + audit row + dedup key in one transaction)."""
    store = await Store.open(path)
    policy = Policy({"UAPPROVER"}, set(), set(), set(), False, 25, timedelta(hours=24), _NoGroups())
    service = RequestService(store, policy)
    started = time.perf_counter()
    for i in range(count // 2):
        request = await service.submit(_draft(i), dedup_key=f"view:{i}")
        await service.approve(request.id, "UAPPROVER", dedup_key=f"button:{i}")
    elapsed = time.perf_counter() - started
    await store.close()
    return (count // 2) * 2 / elapsed


async def plain_inserts(path: Path, count: int) -> float:
    conn = await connect(path, migrate_to=None)  # same pragmas, bare table
    await conn.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    started = time.perf_counter()
    for i in range(count):
        await conn.execute("BEGIN IMMEDIATE")
        await conn.execute("INSERT INTO plain (v) VALUES (?)", (f"row {i}",))
        await conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    await conn.close()
    return count / elapsed


def extend_log(path: Path, upto: int) -> None:
    """Bulk-append rows (valid chain) until the log holds `upto` rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # generation only; the measured runs reopen with FULL
    head = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    row_id, prev = head if head else (0, "0" * 64)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    software = {"name": "7-Zip", "id": 714, "catalog": "Global"}
    while row_id < upto:
        batch = []
        for _ in range(min(50_000, upto - row_id)):
            row_id += 1
            entry = AuditEntry(
                event="request.approved" if row_id % 2 == 0 else "request.created",
                actor="UAPPROVER" if row_id % 2 == 0 else "UREQUESTER",
                request_id=(row_id + 1) // 2,
                requester="UREQUESTER",
                software=software,
                action="LatestVersion",
                targets=[{"id": row_id, "name": f"PC-{row_id}"}, {"email": "ana@example.com"}],
                reason=f"ticket {row_id}: update for CVE-2026-{row_id % 9999:04d}",
            )
            row = build_row(entry, row_id, at + timedelta(seconds=row_id), prev)
            prev = row["hash"]
            batch.append(db_values(row))
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
    tps = await audited_transitions(workdir / "service.db", transitions)
    ips = await plain_inserts(workdir / "plain.db", transitions)
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
