"""The two apps of bench/typeahead.py, each served in its own child process the same way.

`python bench/typeahead.py --serve bot|bare` runs `serve_child`: the whole bot (`running_bot`), or a
bare `AsyncApp` whose options listener answers ten fixed options and whose `/immy` opens the bot's
own request modal, built once at start (the fake Slack checks every view against Block Kit's rules:
the same view costs it the same time for both apps). Both sit behind `build_web_app` + uvicorn with
the same signing secret. A child prints `{"url": ..., "ready_s": ...}` when it serves and stops at
EOF on stdin.
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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.demo import DemoSettings
from bot.sandbox.server import serve
from bot.slack.requests.views import request_modal
from bot.web import build_web_app

SECRET = "bench-signing-secret"
START_TIMEOUT_S = 600
SCRIPT = str(Path(__file__).resolve().with_name("typeahead.py"))
FIXED_OPTIONS = [{"text": {"type": "plain_text", "text": f"Option {i}"}, "value": str(i)} for i in range(10)]


@contextlib.asynccontextmanager
async def bare_app(api_url: str, token: str) -> AsyncIterator[str]:
    app = AsyncApp(client=AsyncWebClient(token=token, base_url=api_url), signing_secret=SECRET)
    fixed_view = request_modal(channel_id="C0OPS", max_targets=50)

    @app.options(re.compile(".*"))
    async def options(ack: Any) -> None:
        await ack(options=FIXED_OPTIONS)

    @app.command("/immy")
    async def command(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=fixed_view)

    async def health() -> tuple[int, dict[str, Any]]:
        return 200, {}

    web = build_web_app(health=health, metrics=lambda: (b"", "text/plain"), bolt_app=app, signing_secret=SECRET)
    async with serve(web) as served:
        yield served.url


def settings_for(config: dict[str, Any]) -> Any:
    env = config["env"]
    return DemoSettings(
        slack_bot_token=config["bot_token"], slack_signing_secret=SECRET, slack_app_token=None,
        slack_api_url=config["api_url"], immybot_base_url=env["IMMYBOT_BASE_URL"],
        immybot_tenant_id=env["IMMYBOT_TENANT_ID"], immybot_client_id=env["IMMYBOT_CLIENT_ID"],
        immybot_client_secret=env["IMMYBOT_CLIENT_SECRET"], immybot_authority_host=env["IMMYBOT_AUTHORITY_HOST"],
        approval_channel="C0APPROVE", approvers="U0BOB", audit_db=Path(config["tmp"]) / "bench.db",
        catalog_refresh_minutes=60, port=0, log_level="ERROR", log_format="text",
    )


async def serve_child(kind: str, config: dict[str, Any]) -> None:
    """In the child: serve `kind`, print `{"url": ...}` when ready, stop at EOF on stdin."""
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        started = time.perf_counter()
        if kind == "bot":
            from bot.services import running_bot

            url = (await stack.enter_async_context(running_bot(settings_for(config), socket=False))).url
        else:
            url = await stack.enter_async_context(bare_app(config["api_url"], config["bot_token"]))
        print(json.dumps({"url": url, "ready_s": round(time.perf_counter() - started, 2)}), flush=True)
        await loop.run_in_executor(None, sys.stdin.read)


@contextlib.asynccontextmanager
async def child(kind: str, config: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    env = {**os.environ, "BENCH_CONFIG": json.dumps(config),
           "REQUESTS_CA_BUNDLE": config["env"]["REQUESTS_CA_BUNDLE"]}
    proc = await asyncio.create_subprocess_exec(sys.executable, SCRIPT, "--serve", kind, env=env,
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
        if not line:
            raise RuntimeError(f"the {kind} process stopped before it was ready")
        yield {**json.loads(line), "pid": proc.pid}
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()
