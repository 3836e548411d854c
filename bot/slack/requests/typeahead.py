"""The request modal's two typeaheads: who may search, what they find, as Slack options.

Two doors share the same gates and searches: Bolt's `@app.options` listeners (Socket Mode) ack a
list of option dicts; the HTTP door (`bot.web`, after the signature check) asks `software_json` /
`computers_json` for the encoded answer and skips Bolt's dispatch, since every keystroke is one
delivery. Encoded answers are reused per (field, query, scope) while the catalog stays the same
(`answers.AnswerCache`).
"""

from __future__ import annotations

from typing import Any

from bot.slack.requests.answers import EMPTY_OPTIONS, AnswerCache, encode_options
from bot.slack.requests.deps import RequestsDeps
from bot.slack.requests.views import computer_option_json, computer_options, software_option_json, software_options
from bot.slack.text import search_query
from bot.workflow.rules import Tenants

OPTIONS_LIMIT = 100


class Typeahead:
    def __init__(self, deps: RequestsDeps, cache: AnswerCache | None = None) -> None:
        self.deps = deps
        self.cache = cache if cache is not None else AnswerCache()  # an empty cache is falsy

    async def _typed(self, body: dict[str, Any]) -> tuple[str, str]:
        """(user, what was typed, capped); an empty query (no options at all) for someone not allowed
        to request: the REQUESTERS gate and the policy's scopes, on every load."""
        query = search_query(str(body.get("value") or ""))
        user = str((body.get("user") or {}).get("id") or "")
        if not query or not user or not await self.deps.policy.may_request(user):
            return user, ""
        return user, query

    async def _scope(self, user: str) -> Tenants | None:
        """The person's tenants (SPEC §6); None: every tenant."""
        scope = await self.deps.policy.tenants(user)
        return None if scope.every else scope

    def _software(self, query: str) -> list[Any]:
        return list(self.deps.catalog.search_software(query, limit=OPTIONS_LIMIT))

    def _computers(self, query: str, scope: Tenants | None) -> list[tuple[int, str, str | None, bool | None]]:
        rows = self.deps.catalog.search_computers(query, limit=OPTIONS_LIMIT, scope=scope)
        return [(r.id, r.name, r.tenant_name, r.online) for r in rows]

    # ---- Bolt's listeners (Socket Mode) --------------------------------------------------------

    async def software(self, body: dict[str, Any]) -> list[dict]:
        _, query = await self._typed(body)
        return software_options(self._software(query)) if query else []

    async def computers(self, body: dict[str, Any]) -> list[dict]:
        user, query = await self._typed(body)
        return computer_options(self._computers(query, await self._scope(user))) if query else []

    # ---- the HTTP door: the encoded answer ----------------------------------------------------

    async def software_json(self, body: dict[str, Any]) -> bytes:
        _, query = await self._typed(body)
        if not query:
            return EMPTY_OPTIONS
        # No await from here on: the version read is the one the search sees.
        version, key = self.deps.catalog.version, ("software", query)
        answer = self.cache.get(version, key)
        if answer is None:
            answer = encode_options(software_option_json(self._software(query)))
            self.cache.put(version, key, answer)
        return answer

    async def computers_json(self, body: dict[str, Any]) -> bytes:
        user, query = await self._typed(body)
        if not query:
            return EMPTY_OPTIONS
        scope = await self._scope(user)
        version, key = self.deps.catalog.version, ("computers", query, scope)  # the scope: see answers.py
        answer = self.cache.get(version, key)
        if answer is None:
            answer = encode_options(computer_option_json(self._computers(query, scope)))
            self.cache.put(version, key, answer)
        return answer
