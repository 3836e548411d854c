"""A broken POLICY_FILE stops `immybot-slack run` with the loader's one line, exit 2 (SPEC §6)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_a_broken_policy_file_stops_start_up_with_one_line(valid_env: dict[str, str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "policy.yml"
    broken.write_text("rules:\n  - name: x\n    when: {actions: [Remove]}\n")
    monkeypatch.setenv("POLICY_FILE", str(broken))
    proc = subprocess.run([sys.executable, "-m", "bot", "run", "--http"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("immybot-slack: policy error: ")
    assert str(broken) in lines[0] and "rules[0].when.actions[0]" in lines[0] and "line 3" in lines[0]
