"""`immybot-slack demo`: the whole loop, credential-free, against the bundled local fakes.

The real bot (`running_bot`, HTTP mode) runs against fakes of Slack, Entra (HTTPS with a throwaway CA)
and ImmyBot, all on 127.0.0.1, with its database in a temporary directory. A sample technician asks
for Google Chrome on two computers, an approver approves, one computer passes and one fails; then
the conversation is printed as people would see it in Slack, followed by the audit rows and
`audit verify`. Nothing from the user's environment or `.env` is read, and everything is torn down.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings
from bot.slack.approvals import ids as approval_ids
from bot.slack.requests import ids as request_ids
from immybot_slack_sandbox.demo_world import DemoWorld, demo_world
from immybot_slack_sandbox.immy_shapes import Shape
from immybot_slack_sandbox.slack_payloads import values_for

# The seeded workspace (immybot_slack_sandbox.slack_seed): alice is a technician, bob an approver.
TECH, APPROVER = "U0ALICE", "U0BOB"
OPS_CHANNEL, APPROVAL_CHANNEL = "C0OPS", "C0APPROVE"
REASON = "Ticket 4711: users need Chrome for the new web portal"
STEP_TIMEOUT = 20.0

# Variables that could leak real credentials, proxies or CA bundles into the demo process.
_ISOLATED_ENV = (
    "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy",
    "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE",
)  # fmt: skip


class DemoFailed(Exception):
    """One step did not happen; the message says which."""


class DemoSettings(Settings):
    """Settings from the arguments only: never the environment, never a `.env` file."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: Any, init_settings: Any, **_: Any) -> tuple[Any, ...]:
        return (init_settings,)


@dataclass
class Out:
    stream: TextIO
    quiet: bool

    def say(self, text: str = "") -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def step(self, text: str) -> None:
        self.say(f"  · {text}")


async def run_demo(quiet: bool = False, stream: TextIO | None = None, immy_shape: Shape = "full") -> int:
    """`immy_shape`: how the fake ImmyBot serialises (`immy_shapes`): all properties, sparse, integer enums."""
    out = Out(stream or sys.stdout, quiet)
    started = time.perf_counter()
    with _isolated_process(), tempfile.TemporaryDirectory(prefix="immybot-slack-demo-") as tmp:
        try:
            outcome = await _run(Path(tmp), out, immy_shape)
        except DemoFailed as failure:
            print(f"demo failed: {failure}", file=out.stream, flush=True)
            return 1
        except Exception as error:  # a crash is a failed demo with one clear line, never a traceback
            print(f"demo failed: {type(error).__name__}: {error}", file=out.stream, flush=True)
            return 1
    elapsed = time.perf_counter() - started
    print(f"demo ok: request #{outcome.request_id} {outcome.result}; audit chain intact "
          f"({outcome.audit_rows} rows); {elapsed:.1f} s", file=out.stream, flush=True)
    return 0


@dataclass
class Outcome:
    request_id: int
    result: str
    audit_rows: int


async def _run(tmp: Path, out: Out, immy_shape: Shape = "full") -> Outcome:
    out.say("immybot-slack demo: the real bot against local fakes of Slack, Entra and ImmyBot (127.0.0.1 only)")
    out.say()
    async with demo_world(tmp, _settings, immy_shape=immy_shape) as world:
        out.step(f"bot listening on {world.bot_url}; catalog loaded")
        request_id = await _submit(world, out)
        await _approve(world, out)
        result = await _follow(world, request_id, out)
        out.say()
        out.say(world.transcript())
    rows = await world.audit_rows()
    out.say()
    out.say(f"Audit log ({len(rows)} rows, {tmp.name}/demo.db):")
    out.say(audit_table(rows))
    report = await world.verify()
    checkpoints = await world.checkpoint_lines()
    out.say()
    out.say("\n".join(["$ immybot-slack audit verify", report.line(), *(line for _, line in checkpoints)]))
    if not report.ok or not all(ok for ok, _ in checkpoints):
        raise DemoFailed(f"audit verify: {report.line()} {[line for _, line in checkpoints]}")
    return Outcome(request_id, result, len(rows))


def _settings(tmp: Path, slack_api_url: str, immy_env: dict[str, str]) -> Settings:
    return DemoSettings(
        slack_bot_token="xoxb-demo-bot-token",
        slack_signing_secret="demo-signing-secret",
        slack_app_token=None,
        slack_api_url=slack_api_url,
        immybot_subdomain=None,
        immybot_base_url=immy_env["IMMYBOT_BASE_URL"],
        immybot_tenant_id=immy_env["IMMYBOT_TENANT_ID"],
        immybot_client_id=immy_env["IMMYBOT_CLIENT_ID"],
        immybot_client_secret=immy_env["IMMYBOT_CLIENT_SECRET"],
        immybot_authority_host=immy_env["IMMYBOT_AUTHORITY_HOST"],
        approval_channel=APPROVAL_CHANNEL,
        approvers=APPROVER,
        allow_self_approval=False,
        requesters="",
        max_targets=25,
        approval_ttl_hours=24,
        audit_db=tmp / "demo.db",
        session_poll_seconds=0.2,
        session_max_wait_hours=0.05,
        catalog_refresh_minutes=60,
        port=0,
        log_level="ERROR",
        log_format="text",
    )


async def _submit(world: DemoWorld, out: Out) -> int:
    driver, fake = world.driver, world.fake
    delivery = await driver.slash(TECH, OPS_CHANNEL, "install chrome")
    _expect(delivery.status == 200, f"/immy install chrome was answered {delivery.status}")
    view = await _wait(lambda: fake.latest_view(TECH), "the request modal did not open")
    out.step("alice typed `/immy install chrome`: the request modal opened")

    software = await driver.suggest(TECH, view, request_ids.SOFTWARE_ACTION, "chrome")
    chrome = next((o for o in software if "Google Chrome" in o["text"]["text"]), None)
    _expect(chrome is not None, f"typing 'chrome' offered no Google Chrome: {[o['text']['text'] for o in software]}")
    computers = []
    for name in world.computer_names:
        offered = await driver.suggest(TECH, view, request_ids.COMPUTERS_ACTION, name.lower()[-6:])
        match = next((o for o in offered if o["text"]["text"].startswith(name)), None)
        _expect(match is not None, f"typing part of {name} did not offer it")
        computers.append(match)
    out.step(f"picked {chrome['text']['text']!r} and {', '.join(world.computer_names)} from the typeahead")

    values = values_for(view.view, **{
        request_ids.SOFTWARE_BLOCK: chrome,
        request_ids.COMPUTERS_BLOCK: computers,
        request_ids.REASON_BLOCK: REASON,
    })
    answer = await driver.submit(TECH, view, values)
    _expect(answer.status == 200 and "errors" not in answer.text, f"submission refused: {answer.text[:300]}")
    request_id = await _wait(world.latest_request_id, "no request was recorded")
    out.step(f"submitted with a reason: request #{request_id} recorded, cards posted")
    return request_id


async def _approve(world: DemoWorld, out: Out) -> None:
    card = await _wait(lambda: world.message_with_action(APPROVAL_CHANNEL, approval_ids.APPROVE_ACTION),
                       "the approval card did not reach the approval channel")
    preview = await _wait(lambda: _preview_line(world.message_with_action(APPROVAL_CHANNEL, card_action)),
                          "ImmyBot's dry run did not reach the approval card")
    out.step(f"ImmyBot's dry run (detection only) on the approval card: {preview}")
    answer = await world.driver.click(APPROVER, APPROVAL_CHANNEL, card.ts, approval_ids.APPROVE_ACTION)
    _expect(answer.status == 200, f"the Approve click was answered {answer.status}")
    out.step("bob clicked Approve: ImmyBot maintenance started")


card_action = approval_ids.APPROVE_ACTION
PREVIEW_HEAD = "*Preview (ImmyBot's dry run):* "


def _preview_line(card: Any) -> str | None:
    """The approval card's preview summary once the dry run ended (or that it could not start)."""
    for block in (card.blocks or []) if card is not None else []:
        text = str(((block.get("text") or {}) if isinstance(block, dict) else {}).get("text") or "")
        if text.startswith(PREVIEW_HEAD):
            return text.removeprefix(PREVIEW_HEAD).split("\n")[0]
        if "could not start" in str(block):
            return "the preview could not start"
    return None


async def _follow(world: DemoWorld, request_id: int, out: Out) -> str:
    result = await _wait(lambda: world.finished_outcome(request_id), "the sessions did not finish",
                         timeout=STEP_TIMEOUT * 2)
    await _wait(lambda: world.summary_posted(request_id), "the final summary was not posted in the thread")
    out.step(f"both sessions followed to the end: {result}")
    return str(result)


def audit_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'id':>3}  {'at':<19}  {'request':>7}  {'event':<17}  {'actor':<8}  outcome / sessions"]
    for row in rows:
        extra = row.get("outcome") or ""
        if row.get("immybot_session_ids"):
            extra = f"sessions {row['immybot_session_ids']}" + (f" {extra}" if extra else "")
        lines.append(
            f"{row['id']:>3}  {str(row['at'])[:19]:<19}  {row.get('request_id') or '':>7}  {row['event']:<17}  "
            f"{row.get('actor') or '':<8}  {extra}"
        )
    return "\n".join(lines)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise DemoFailed(message)


async def _wait(probe: Any, message: str, timeout: float = STEP_TIMEOUT) -> Any:  # noqa: ASYNC109
    import asyncio
    import inspect

    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoFailed(f"{message} (waited {timeout:g} s)")
        await asyncio.sleep(0.05)


@contextlib.contextmanager
def _isolated_process() -> Iterator[None]:
    """No proxies or CA bundles from outside; bot logs only on error, in text; all restored afterwards."""
    saved = {name: os.environ.pop(name) for name in _ISOLATED_ENV if name in os.environ}
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.ERROR)
    root.handlers[:] = [handler]
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_level = uvicorn_log.level
    uvicorn_log.setLevel(logging.CRITICAL)  # its shutdown notices are not the demo's business
    try:
        yield
    finally:
        root.handlers[:], root.level = handlers, level
        uvicorn_log.setLevel(uvicorn_level)
        for name in _ISOLATED_ENV:
            os.environ.pop(name, None)
        os.environ.update(saved)

