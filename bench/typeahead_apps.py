"""The floor of bench/typeahead.py: a bare `slack_bolt` AsyncApp on Bolt's own server, and how children run.

`python bench/typeahead_apps.py` (config in `BENCH_CONFIG`) serves what a user would write instead of the
bot: an `AsyncApp` with one options listener and one `/immy` command, served by Bolt's built-in
aiohttp server (`AsyncSlackAppServer`, the server behind `app.start()`; run here with aiohttp's
`AppRunner` only so that it can listen on a free port and print it). It imports nothing from `bot`:
the options it answers (per action id) and the modal it opens are JSON files the benchmark wrote from
the bot's own answers, so both apps serialise the same number of options of the same size and open
the same view. It prints `{"url": ..., "ready_s": ...}` when it serves and stops at EOF on stdin.

`BENCH_PYSPY=$(which py-spy) python bench/typeahead.py` runs both children under `py-spy record`
(raw collapsed stacks in `$BENCH_PYSPY_DIR`, default /tmp: pyspy-bot.txt and pyspy-floor.txt): how
the web layer's costs were found. Each child reports its own pid, so memory and CPU are still its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

SECRET = "bench-signing-secret"
START_TIMEOUT_S = 600
HERE = Path(__file__).resolve().parent


def read_json(path: str) -> Any:
    return json.loads(Path(path).read_text())


async def serve_floor(config: dict[str, Any]) -> None:
    from aiohttp import web
    from slack_bolt.app.async_server import AsyncSlackAppServer
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    started = time.perf_counter()
    options_by_action: dict[str, list[dict[str, Any]]] = read_json(config["options_file"])
    modal: dict[str, Any] = read_json(config["modal_file"])
    app = AsyncApp(client=AsyncWebClient(token=config["bot_token"], base_url=config["api_url"]),
                   signing_secret=SECRET)

    @app.options(re.compile(".*"))
    async def options(ack: Any, body: dict[str, Any]) -> None:
        await ack(options=options_by_action.get(body.get("action_id", ""), []))

    @app.command("/immy")
    async def command(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    server = AsyncSlackAppServer(port=0, path="/slack/events", app=app, host="127.0.0.1")
    runner = web.AppRunner(server.web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(json.dumps({"url": f"http://{host}:{port}", "ready_s": round(time.perf_counter() - started, 2),
                      "pid": os.getpid()}), flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def child(command: Sequence[str], config: dict[str, Any], env: dict[str, str] | None = None
                ) -> AsyncIterator[dict[str, Any]]:
    """Run `command` (a Python script) with `BENCH_CONFIG`; yield its ready line plus its pid."""
    full_env = {**os.environ, **(env or {}), "BENCH_CONFIG": json.dumps(config)}
    profile = Path(os.environ.get("BENCH_PYSPY_DIR", "/tmp")) / f"pyspy-{config.get('role', 'floor')}.txt"
    prefix = [os.environ["BENCH_PYSPY"], "record", "-f", "raw", "-r", "200", "-o", str(profile),
              "--"] if os.environ.get("BENCH_PYSPY") else []
    proc = await asyncio.create_subprocess_exec(*prefix, sys.executable, *command, env=full_env,
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
        while line and not line.startswith(b"{"):  # a profiler's banner
            line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
        if not line:
            raise RuntimeError(f"{command[0]} stopped before it was ready")
        yield {"pid": proc.pid, **json.loads(line)}  # the child's own pid (under py-spy, not py-spy's)
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/<pid>/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def floor_command() -> list[str]:
    return [str(HERE / "typeahead_apps.py")]


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.CRITICAL)
    asyncio.run(serve_floor(json.loads(os.environ["BENCH_CONFIG"])))
