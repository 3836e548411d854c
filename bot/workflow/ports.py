"""Narrow ports the domain calls out through; adapters (Slack, ImmyBot) implement them."""

from __future__ import annotations

from typing import Protocol


class GroupDirectory(Protocol):
    """Who is in a Slack user group. The Slack adapter implements it (usergroups.users.list)."""

    async def members(self, group_id: str) -> frozenset[str]: ...
