"""`GroupDirectory` over Slack user groups (`usergroups.users.list`). The policy caches answers."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient


class SlackGroupDirectory:
    """Who is in a Slack user group. Errors propagate: an unanswerable question is never a yes."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def members(self, group_id: str) -> frozenset[str]:
        response = await self._client.usergroups_users_list(usergroup=group_id)
        users = response.get("users") or []
        return frozenset(str(user) for user in users)
