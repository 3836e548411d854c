"""JSON snapshots under tests/slack_views/snapshots; `UPDATE_SNAPSHOTS=1` rewrites them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


def assert_snapshot(name: str, value: Any) -> None:
    path = SNAPSHOTS / f"{name}.json"
    rendered = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            raise AssertionError(f"snapshot {path.name} was missing and has been written; check it and re-run")
        return
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(rendered), (
        f"{name} differs from {path}; run with UPDATE_SNAPSHOTS=1 if the change is intended"
    )
