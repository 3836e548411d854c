"""Who may request and who may decide: approvers, requesters, self-approval, target limits.

Group membership comes through the `GroupDirectory` port and is cached briefly, with at most one
lookup in flight per group. A lookup that fails counts as "not a member" (fail closed) and is not
cached, so the next call tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Literal

from bot.workflow import rules
from bot.workflow.errors import InvalidSubmission, NotAllowed
from bot.workflow.model import Draft, Request, RequestState, RuleRecord
from bot.workflow.ports import GroupDirectory
from bot.workflow.rules import EMPTY_POLICY, PolicyDoc, RequestFacts, Tenants

log = logging.getLogger(__name__)

Decision = Literal["approve", "deny", "cancel"]
GROUP_CACHE_SECONDS = 60.0
NOT_A_REQUESTER = "You are not allowed to make requests (ask an admin to add you to REQUESTERS)."
RATE_WINDOW = timedelta(hours=1)


class Policy:
    def __init__(
        self,
        approver_users: Iterable[str],
        approver_groups: Iterable[str],
        requester_users: Iterable[str],
        requester_groups: Iterable[str],
        allow_self_approval: bool,
        max_targets: int,
        approval_ttl: timedelta,
        groups: GroupDirectory,
        *,
        requests_per_hour: int = 30,
        cache_seconds: float = GROUP_CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        doc: PolicyDoc = EMPTY_POLICY,
        approval_channel: str = "",
    ) -> None:
        self.approver_users = frozenset(approver_users)
        self.approver_groups = frozenset(approver_groups)
        self.requester_users = frozenset(requester_users)
        self.requester_groups = frozenset(requester_groups)
        self.allow_self_approval = allow_self_approval
        self.max_targets = max_targets
        self.approval_ttl = approval_ttl
        self.requests_per_hour = requests_per_hour
        self._groups = groups
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._inflight: dict[str, asyncio.Future[frozenset[str]]] = {}
        self.doc = doc
        self.defaults = rules.Defaults(
            approvers=self.approver_users | self.approver_groups,
            channel=approval_channel,
            allow_self_approval=allow_self_approval,
            ttl_hours=approval_ttl.total_seconds() / 3600,
        )
        self._scopes: dict[str, tuple[float, Tenants]] = {}

    # ---- membership -------------------------------------------------------------------------

    async def is_approver(self, user: str) -> bool:
        return user in self.approver_users or await self._in_any(user, self.approver_groups)

    async def may_request(self, user: str) -> bool:
        """Empty REQUESTERS means everyone may request; with policy `scopes`, only someone in a scope."""
        if self.requester_users or self.requester_groups:
            if user not in self.requester_users and not await self._in_any(user, self.requester_groups):
                return False
        return self.doc.scopes is None or not (await self.tenants(user)).empty

    async def groups_of(self, user: str) -> frozenset[str]:
        """The user groups the policy names that `user` is in (cached lookups; a failure = not a member)."""
        return await rules.groups_of(user, self.doc.group_ids(), self._members)

    async def tenants(self, user: str) -> Tenants:
        """`user`'s tenants (every tenant without `scopes`), worked out once per group-cache period."""
        if self.doc.scopes is None:
            return rules.ALL_TENANTS
        cached = self._scopes.get(user)
        if cached and cached[0] > self._monotonic():
            return cached[1]
        scope = rules.tenants_for(self.doc, user, await self.groups_of(user))
        self._scopes[user] = (self._monotonic() + self._cache_seconds, scope)
        return scope

    async def visible(self, user: str, requests: list[Request]) -> list[Request]:
        """The requests whose every computer is in `user`'s tenants (all of them without `scopes`)."""
        if self.doc.scopes is None:
            return requests
        scope = await self.tenants(user)
        return [r for r in requests if rules.may_target(scope, [(c.tenant_id, c.tenant_name)
                                                                  for c in r.targets.computers]) is None]

    async def decidable(self, user: str, requests: list[Request]) -> list[Request]:
        """The pending requests `user` may decide (their rule's approvers, escalation contacts)."""
        return [r for r in requests if await self.may_decide(user, r)]

    @property
    def min_ttl(self) -> timedelta:
        """The shortest approval time any rule may give (expiry looks at requests at least this old)."""
        hours = [r.ttl_hours for r in self.doc.rules if r.ttl_hours is not None]
        return min([self.approval_ttl, *(timedelta(hours=h) for h in hours)])

    async def rule_for(self, draft: Draft) -> RuleRecord:
        """The rule that decides this submission (first match; none: the implicit rule from the settings)."""
        facts = RequestFacts(
            requester=draft.requester,
            software_name=draft.software.name,
            catalog=draft.software.catalog.value,
            action=draft.action.value,
            target_tenants=[(c.tenant_id, c.tenant_name) for c in draft.targets.computers],
            preview=draft.options.preview,
        )
        groups = await self.groups_of(draft.requester) if self.doc.rules else frozenset()
        rule = rules.rule_for(self.doc, facts, groups, self.defaults)
        return RuleRecord(name=rule.name, approvers=tuple(sorted(rule.approvers)), approvals=rule.approvals,
                          channel=rule.channel, allow_self_approval=rule.allow_self_approval,
                          ttl_hours=rule.ttl_hours, implicit=rule.implicit)

    async def may_decide(self, actor: str, request: Request | None) -> bool:
        """An approver of this request: its rule's approvers, and `escalate_to` once it is escalated."""
        reminders = self.doc.reminders
        if request is not None and request.escalated and reminders is not None:
            if await self._named(actor, reminders.escalate_to):
                return True
        rule = request.rule if request is not None else None
        if rule is None or rule.implicit:
            return await self.is_approver(actor)
        return await self._named(actor, frozenset(rule.approvers))

    async def _named(self, user: str, identities: frozenset[str]) -> bool:
        return user in identities or await self._in_any(user, frozenset(i for i in identities if rules.is_group(i)))

    async def _in_any(self, user: str, groups: frozenset[str]) -> bool:
        for group in sorted(groups):
            if user in await self._members(group):
                return True
        return False

    async def _members(self, group: str) -> frozenset[str]:
        cached = self._cache.get(group)
        if cached and cached[0] > self._monotonic():
            return cached[1]
        future = self._inflight.get(group)
        if future is None:
            future = asyncio.ensure_future(self._lookup(group))
            self._inflight[group] = future
        return await asyncio.shield(future)

    async def _lookup(self, group: str) -> frozenset[str]:
        try:
            members = frozenset(await self._groups.members(group))
        except Exception:
            log.warning("user group lookup failed; treating as no members", extra={"group": group}, exc_info=True)
            return frozenset()
        else:
            self._cache[group] = (self._monotonic() + self._cache_seconds, members)
            return members
        finally:
            self._inflight.pop(group, None)

    # ---- submissions ------------------------------------------------------------------------

    async def check_submission(self, draft: Draft) -> None:
        """Raise `NotAllowed` or `InvalidSubmission(field, message)` for a submission that may not be recorded."""
        if not await self.may_request(draft.requester):
            raise NotAllowed(self.not_allowed_text(draft.requester))
        count = len(set(draft.targets.computer_ids))
        if count == 0:
            raise InvalidSubmission("targets", "Choose at least one computer.")
        if count > self.max_targets:
            raise InvalidSubmission(
                "targets", f"{count} computers is more than the limit of {self.max_targets} per request."
            )
        if not draft.reason.strip():
            raise InvalidSubmission("reason", "Give a reason.")
        if self.doc.scopes is not None:
            scope = await self.tenants(draft.requester)
            outside = rules.may_target(scope, [(c.tenant_id, c.tenant_name) for c in draft.targets.computers])
            if outside is not None:
                raise InvalidSubmission("targets", rules.outside_scope(outside))

    def not_allowed_text(self, user: str) -> str:
        """REQUESTERS' refusal, or the policy's when REQUESTERS allows them but no scope names them."""
        cached = self._scopes.get(user)
        return rules.NOT_IN_A_SCOPE if cached is not None and cached[1].empty else NOT_A_REQUESTER

    def rate_refusal(self, made_in_last_hour: int) -> InvalidSubmission | None:
        """Past `requests_per_hour` recorded requests in the rolling hour: refused on the software field."""
        if made_in_last_hour < self.requests_per_hour:
            return None
        return InvalidSubmission(
            "software",
            f"You have made {made_in_last_hour} requests in the last hour; the limit is {self.requests_per_hour}"
            " per hour. Try again later.",
        )

    @staticmethod
    def auto_approves(draft: Draft, requester_is_approver: bool) -> bool:
        """A preview-only (detection-only) run by an approver needs no second approver."""
        return draft.options.preview and requester_is_approver

    # ---- decisions --------------------------------------------------------------------------

    def decision_refusal(self, action: Decision, actor: str, actor_is_approver: bool, request: Request) -> str | None:
        """Why `actor` may not `action` this request in its current state, or None if allowed.

        Pure and synchronous: evaluated inside the write transaction against the current state.
        """
        own = actor == request.requester
        allow_self = self.allow_self_approval if request.rule is None else request.rule.allow_self_approval
        if action == "cancel":
            if actor_is_approver:
                return None
            if not own:
                return "cancel: not the requester or an approver"
            if request.state in (RequestState.APPROVED, RequestState.STARTING, RequestState.RUNNING):
                return "cancel: only an approver can cancel a request once it is approved"
            return None
        if not actor_is_approver:
            return f"{action}: not an approver"
        if own and not allow_self:
            return f"{action}: may not decide their own request"
        return None


__all__ = ["Decision", "Policy"]
