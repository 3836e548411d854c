"""`immybot-slack audit verify` against the checkpoints in (fake) Slack, as a real command over real HTTP:
a cut tail and a rebuilt chain are caught and the checkpoint named; `--checkpoint`, `--offline`, and
what it says when it cannot read Slack."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.checkpoints import CHECKPOINT_EVENT, SlackCheckpoints
from bot.store import Store
from bot.store.audit import FIELDS, JSON_FIELDS, db_values, decode, row_hash
from bot.workflow.checkpoints import Checkpointer
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_seed import SeededWorkspace
from tests.conftest import REPO
from tests.workflow.factories import APPROVER, Clock, make_draft, make_service


async def _log_with_checkpoint(tmp: Path, client: AsyncWebClient, channel: str) -> tuple[Path, int, str]:
    """Rows 1-4, a checkpoint of row 4 posted in Slack, then rows 5-6 (not yet checkpointed)."""
    db = tmp / "audit.db"
    service, store = await make_service(db, Clock())

    async def head() -> tuple[int, str] | None:
        async with store.read() as tx:
            return await tx.audit_head()

    checkpointer = Checkpointer(head, SlackCheckpoints(client, channel).post, every_seconds=3600)
    for _ in range(2):
        request = await service.submit(make_draft())
        await service.approve(request.id, APPROVER)
    posted = await checkpointer.tick()
    assert posted is not None and posted.row == 4
    await service.deny((await service.submit(make_draft())).id, APPROVER, "no")
    await store.close()
    return db, posted.row, posted.hash


async def _verify(tmp: Path, db: Path, *args: str, **env: str) -> tuple[int, str]:
    """The real command in a subprocess (asyncio's, so the fake Slack in this loop keeps answering)."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SLACK_", "APPROVAL", "AUDIT_"))}
    clean = {k: v for k, v in clean.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "audit", "verify", "--db", str(db), *args,
        cwd=tmp, env={**clean, "PYTHONPATH": str(REPO), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


def _slack_env(fake: FakeSlack, channel: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_API_URL": fake.api_url, "APPROVAL_CHANNEL": channel}


def _attacker(db: Path) -> sqlite3.Connection:
    """What someone holding the database file can do: drop the append-only triggers."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    return conn


async def test_verify_passes_then_names_the_checkpoint_after_a_cut_tail(
    tmp_path: Path, fake_slack: FakeSlack, slack_client: AsyncWebClient, slack_workspace: SeededWorkspace
) -> None:
    channel = slack_workspace.approval_channel
    db, row, digest = await _log_with_checkpoint(tmp_path, slack_client, channel)
    env = _slack_env(fake_slack, channel)

    code, out = await _verify(tmp_path, db, **env)
    assert code == 0, out
    assert out.splitlines()[0] == "OK: 6 rows" and f"OK: checkpoint row {row}, hash {digest}" in out
    history = [c for c in fake_slack.calls() if c.method == "conversations.history"]
    assert history and str(history[-1].params.get("include_all_metadata")).lower() in ("1", "true")

    cut = tmp_path / "cut.db"
    shutil.copy(db, cut)
    with _attacker(cut) as conn:
        conn.execute("DELETE FROM audit WHERE id >= 3")  # the chain that is left still verifies
    assert (await _verify(tmp_path, cut, "--offline"))[0] == 0
    code, out = await _verify(tmp_path, cut, **env)
    assert code == 1, out
    assert out.splitlines()[0] == "OK: 2 rows"
    assert f"FAIL: checkpoint row {row}, hash {digest} (Slack {channel}, message " in out
    assert "no row 4 (its newest row is 2)" in out


async def test_verify_names_the_checkpoint_after_a_rebuilt_chain(
    tmp_path: Path, fake_slack: FakeSlack, slack_client: AsyncWebClient, slack_workspace: SeededWorkspace
) -> None:
    channel = slack_workspace.approval_channel
    db, row, digest = await _log_with_checkpoint(tmp_path, slack_client, channel)
    with _attacker(db) as conn:  # rewrite the first reason and recompute every hash: a valid, different chain
        rows = [decode(values) for values in conn.execute(f"SELECT {', '.join(FIELDS)} FROM audit ORDER BY id")]
        rows[0]["reason"] = "nothing to see here"
        prev = rows[0]["prev_hash"]
        for rebuilt in rows:
            rebuilt["prev_hash"] = prev
            rebuilt["hash"] = prev = row_hash(rebuilt)
        conn.execute("DELETE FROM audit")
        conn.executemany(f"INSERT INTO audit ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})",
                         [db_values(r) for r in rows])
    assert JSON_FIELDS  # nested values went back as canonical JSON text (db_values)

    code, out = await _verify(tmp_path, db, "--offline")
    assert code == 0 and out.startswith("OK: 6 rows"), out  # the chain alone cannot tell
    code, out = await _verify(tmp_path, db, **_slack_env(fake_slack, channel))
    assert code == 1, out
    assert f"FAIL: checkpoint row {row}, hash {digest}" in out and "the chain was rewritten or rebuilt" in out


async def test_only_the_bots_own_checkpoints_count(
    tmp_path: Path, fake_slack: FakeSlack, slack_client: AsyncWebClient, slack_workspace: SeededWorkspace
) -> None:
    channel = slack_workspace.approval_channel
    db, row, _ = await _log_with_checkpoint(tmp_path, slack_client, channel)
    forged = {"event_type": CHECKPOINT_EVENT, "event_payload": {"row": 99, "hash": "0" * 64}}
    fake_slack.add_message(channel, slack_workspace.requester, "Audit checkpoint: row 99", [], metadata=forged)
    code, out = await _verify(tmp_path, db, **_slack_env(fake_slack, channel))
    assert code == 0 and f"OK: checkpoint row {row}" in out and "row 99" not in out, out


async def test_checkpoint_by_hand_and_offline(tmp_path: Path, fake_slack: FakeSlack, slack_client: AsyncWebClient,
                                              slack_workspace: SeededWorkspace) -> None:
    db, row, digest = await _log_with_checkpoint(tmp_path, slack_client, slack_workspace.approval_channel)
    code, out = await _verify(tmp_path, db, "--checkpoint", f"{row}:{digest}", "--checkpoint", f"6:{'a' * 64}")
    assert code == 1, out
    assert f"OK: checkpoint row {row}, hash {digest} (--checkpoint)" in out
    assert f"FAIL: checkpoint row 6, hash {'a' * 64} (--checkpoint): row 6 has hash " in out
    assert (await _verify(tmp_path, db, "--checkpoint", f"{row}:{digest}"))[0] == 0  # no Slack needed
    code, out = await _verify(tmp_path, db, "--checkpoint", "4:nothex")
    assert code == 2 and "ID:HASH" in out
    code, out = await _verify(tmp_path, db, "--offline")
    assert code == 0 and "not checked (--offline)" in out


async def test_no_token_or_no_slack_is_said_and_fails(tmp_path: Path, fake_slack: FakeSlack,
                                                      slack_client: AsyncWebClient,
                                                      slack_workspace: SeededWorkspace) -> None:
    channel = slack_workspace.approval_channel
    db, _, _ = await _log_with_checkpoint(tmp_path, slack_client, channel)
    code, out = await _verify(tmp_path, db, APPROVAL_CHANNEL=channel)
    assert code == 2 and "OK: 6 rows" in out and "SLACK_BOT_TOKEN is not set" in out and "--offline" in out
    code, out = await _verify(tmp_path, db, **{**_slack_env(fake_slack, channel), "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert code == 2 and "could not reach Slack" in out, out
    code, out = await _verify(tmp_path, db, **_slack_env(fake_slack, slack_workspace.ops_channel))  # none there
    assert code == 2 and f"no audit checkpoint found in Slack channel {slack_workspace.ops_channel}" in out, out
    empty = tmp_path / "empty.db"
    await (await Store.open(empty)).close()
    code, out = await _verify(tmp_path, empty, **_slack_env(fake_slack, slack_workspace.ops_channel))
    assert code == 0 and "none yet, and the log is empty" in out, out
    fake_slack.granted_scopes = {"chat:write"}
    code, out = await _verify(tmp_path, db, **_slack_env(fake_slack, channel))
    assert code == 2 and "missing_scope" in out and "channels:history" in out, out
