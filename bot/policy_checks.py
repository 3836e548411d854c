"""Doctor check for POLICY_FILE: the same validation as `immybot-slack policy check`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from bot.doctor import Check
from bot.policy_file import PolicyError, load_policy

if TYPE_CHECKING:
    from bot.config import Settings


async def policy_checks(settings: Settings) -> AsyncIterator[Check]:
    path = settings.policy_file
    if path is None:
        yield Check("policy", True, "POLICY_FILE not set: one rule from the settings, every tenant for every requester")
        return
    try:
        policy = load_policy(path)
    except PolicyError as error:
        yield Check(
            "policy", False, str(error), f"correct the file (immybot-slack policy check {path}), or unset POLICY_FILE"
        )
        return
    scopes = "no scopes" if policy.scopes is None else f"{len(policy.scopes)} scopes"
    yield Check("policy", True, f"{path}: valid ({scopes}, {len(policy.rules)} rules)")
