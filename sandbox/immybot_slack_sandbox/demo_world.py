"""The demo's world: fake Slack (seeded workspace), fake Entra over HTTPS, fake ImmyBot, and the real bot.

Everything listens on 127.0.0.1 and lives only inside `demo_world(...)`. The throwaway CA is given to
msal through `REQUESTS_CA_BUNDLE` for the duration (and restored afterwards).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from immybot_slack_sandbox import immy_data
from immybot_slack_sandbox.immy_shapes import Shape
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_seed import SeededWorkspace, seed_workspace
from immybot_slack_sandbox.slack_user import SlackDriver
from immybot_slack_sandbox.transcript import render_transcript

PASSING, FAILING = ["Created", "Running", "Passed"], ["Created", "Running", "Failed"]

SettingsFactory = Callable[[Path, str, dict[str, str]], Settings]


@dataclass
class DemoWorld:
    fake: FakeSlack
    workspace: SeededWorkspace
    driver: SlackDriver
    immy: Any
    bot: Any
    db_path: Path
    computer_names: list[str]

    @property
    def bot_url(self) -> str:
        return str(self.bot.url)

    async def latest_request_id(self) -> int | None:
        rows = await self.audit_rows()
        created = [r["request_id"] for r in rows if r["event"] == "request.created"]
        return created[-1] if created else None

    async def finished_outcome(self, request_id: int) -> str | None:
        rows = await self.audit_rows()
        done = [r for r in rows if r["event"] == "request.finished" and r["request_id"] == request_id]
        return str(done[-1]["outcome"]) if done else None

    def message_with_action(self, channel: str, action_id: str) -> Any:
        for message in reversed(self.fake.messages(channel)):
            for block in message.blocks or []:
                for element in block.get("elements", []) if isinstance(block, dict) else []:
                    if isinstance(element, dict) and element.get("action_id") == action_id:
                        return message
        return None

    def summary_posted(self, request_id: int) -> bool:
        """A thread reply (not an edit) that mentions the requester and names the request."""
        mention = f"<@{self.workspace.requester}>"
        for message in self.fake.message_log:
            if message.thread_ts and message.ts != message.thread_ts and mention in _all_text(message):
                if f"#{request_id}" in _all_text(message) and "finished" in _all_text(message):
                    return True
        return False

    def transcript(self) -> str:
        ws = self.workspace
        return render_transcript(self.fake, channels=[ws.ops_channel, ws.approval_channel], homes=False)

    async def audit_rows(self) -> list[dict[str, Any]]:
        from bot.store import audit_cli

        if not self.db_path.exists():
            return []
        conn = await audit_cli.open_readonly(self.db_path)
        try:
            async with conn.execute("SELECT " + _audit_columns() + " FROM audit ORDER BY id") as cursor:
                from bot.store import audit

                return [audit.decode(values) for values in await cursor.fetchall()]
        finally:
            await conn.close()

    async def verify(self) -> Any:
        from bot.store.audit_cli import verify_file

        return await verify_file(self.db_path)

    async def checkpoint_lines(self) -> list[tuple[bool, str]]:
        """`audit verify`'s checkpoint lines for the newest checkpoint the bot posted (read from the fake's
        state, as `conversations.history` would list it: the fake has stopped serving by now)."""
        from bot.slack.checkpoints import CHECKPOINT_EVENT
        from bot.store.audit_cli import checkpoint_problems
        from bot.workflow.checkpoints import checkpoint_from_payload

        for message in reversed(self.fake.message_log):
            metadata = message.metadata or {}
            if metadata.get("event_type") == CHECKPOINT_EVENT and message.user == self.fake.bot_user_id:
                checkpoint = checkpoint_from_payload(
                    metadata.get("event_payload"), f"Slack {message.channel}, message {message.ts}"
                )
                if checkpoint is not None:
                    [problem] = await checkpoint_problems(self.db_path, [checkpoint])
                    ok = problem is None
                    return [(ok, f"OK: {checkpoint.label()}" if ok else f"FAIL: {checkpoint.label()}: {problem}")]
        return [(False, "FAIL: the bot posted no audit checkpoint")]


def _audit_columns() -> str:
    from bot.store import audit

    return audit.COLUMNS


def _all_text(message: Any) -> str:
    return f"{message.text or ''} {message.blocks or ''}"


@contextlib.asynccontextmanager
async def demo_world(tmp: Path, make_settings: SettingsFactory, immy_shape: Shape = "full") -> AsyncIterator[DemoWorld]:
    from bot.services import running_bot
    from immybot_slack_sandbox.immy_sandbox import immy_sandbox

    fake = FakeSlack(bot_token="xoxb-demo-bot-token")
    workspace = seed_workspace(fake)
    data = immy_data.generate()
    targets = [data.computers[0], data.computers[1]]
    previous_bundle = os.environ.get("REQUESTS_CA_BUNDLE")
    try:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(fake.serve())
            sandbox = await stack.enter_async_context(immy_sandbox(tmp, data=data, shape=immy_shape))
            os.environ["REQUESTS_CA_BUNDLE"] = sandbox.env["REQUESTS_CA_BUNDLE"]  # msal trusts the throwaway CA
            sandbox.immybot.script_computer(int(targets[0]["id"]), PASSING)
            sandbox.immybot.script_computer(int(targets[1]["id"]), FAILING,
                                            failure_message="Installer exited with code 1603")
            settings = make_settings(tmp, fake.api_url, sandbox.env)
            bot = await stack.enter_async_context(running_bot(settings, socket=False))
            driver = await stack.enter_async_context(
                SlackDriver(fake, signing_secret="demo-signing-secret", bot_url=bot.url)
            )
            yield DemoWorld(fake, workspace, driver, sandbox.immybot, bot, Path(settings.audit_db),
                            [str(t["computerName"]) for t in targets])
    finally:
        if previous_bundle is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous_bundle
