"""`immybot-slack demo`: the whole loop against the bundled fakes, in-process and as a real command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from immybot_slack_sandbox.demo import run_demo
from immybot_slack_sandbox.immy_shapes import SHAPES, Shape

REPO = Path(__file__).resolve().parents[1]
def _demo_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("immybot-slack-demo-*"))


KEY_LINES = (
    "request modal opened",
    "Google Chrome",
    "clicked Approve",
    "passed",
    "failed",
    "finished: 1 failed, 1 passed",
    "request.created",
    "request.approved",
    "sessions.started",
    "session.finished",
    "request.finished",
    "$ immybot-slack audit verify",
    "demo ok: request #1 partial",
)


@pytest.mark.parametrize("shape", SHAPES)
async def test_demo_runs_the_whole_loop_in_process(tmp_path: Path, shape: Shape) -> None:
    before = _demo_dirs()
    out = io.StringIO()
    code = await run_demo(stream=out, immy_shape=shape)
    text = out.getvalue()
    assert code == 0, text
    for line in KEY_LINES:
        assert line in text, f"{line!r} missing from the demo's output:\n{text}"
    assert "sandbox~secret.value-not-real" not in text and "xoxb-demo-bot-token" not in text
    assert _demo_dirs() <= before  # its temporary directory is gone


def test_demo_as_a_command_ignores_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-real-looking", "SLACK_APP_TOKEN": "xapp-real-looking",
           "APPROVERS": "not-an-id", "HTTPS_PROXY": "http://127.0.0.1:9", "PYTHONPATH": str(REPO)}
    (tmp_path / ".env").write_text("IMMYBOT_CLIENT_SECRET=from-dotenv\nREQUESTERS=U0NOBODY\n")
    result = subprocess.run([sys.executable, "-m", "bot", "demo"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "demo ok:" in result.stdout
    assert "Traceback" not in result.stderr


async def test_demo_quiet_prints_only_the_outcome() -> None:
    out = io.StringIO()
    assert await run_demo(quiet=True, stream=out) == 0
    assert out.getvalue().splitlines()[-1].startswith("demo ok:")
    assert len(out.getvalue().splitlines()) == 1
