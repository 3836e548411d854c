"""`immybot-slack doctor`: one line per check, with the fix when it fails; exit 1 if any failed.

Each capability contributes its checks as an async generator of `Check` results (see
`bot/immybot/checks.py`, `bot/store/checks.py`, `bot/slack/checks.py`). No check prints a secret.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TextIO

from bot.config import Settings, SettingsError, load_settings
from bot.logs import redact


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"[{mark}] {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f" — fix: {self.fix}"
        return redact(text)


CheckSource = Callable[[Settings], AsyncIterator[Check]]


_CHECK_MODULES = (
    ("bot.slack.checks", "slack_checks"),
    ("bot.immybot.checks", "immybot_checks"),
    ("bot.store.checks", "store_checks"),
    ("bot.policy_checks", "policy_checks"),
)


def _sources() -> list[CheckSource]:
    sources: list[CheckSource] = []
    for module_name, attr in _CHECK_MODULES:
        if importlib.util.find_spec(module_name) is None:
            continue
        sources.append(getattr(importlib.import_module(module_name), attr))
    return sources


async def run_doctor(out: TextIO | None = None, settings: Settings | None = None) -> int:
    out = out or sys.stdout
    try:
        settings = settings or load_settings()
    except SettingsError as error:
        print(Check("settings", False, str(error), "set it in the environment or in .env").line(), file=out)
        return 1
    print(Check("settings", True, "all variables valid").line(), file=out)
    failed = False
    for source in _sources():
        async for check in source(settings):
            print(check.line(), file=out, flush=True)
            failed = failed or not check.ok
    return 1 if failed else 0
