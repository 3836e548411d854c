"""`immybot-slack policy check [FILE]`: validate a policy file and print it in words (exit 1 on an error)."""

from __future__ import annotations

import sys

from bot.config import PolicyFileSettings
from bot.policy_file import PolicyError, load_policy
from bot.workflow.rules_words import describe


def run_check(file: str | None) -> int:
    path = file or PolicyFileSettings().policy_file
    if path is None:
        print("immybot-slack: policy check: no FILE given and POLICY_FILE is not set", file=sys.stderr)
        return 1
    try:
        policy = load_policy(path)
    except PolicyError as error:
        print(f"immybot-slack: policy error: {error}", file=sys.stderr)
        return 1
    print(f"{path}: valid.")
    for line in describe(policy):
        print(line)
    return 0
