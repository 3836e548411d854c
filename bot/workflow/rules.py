"""The policy of SPEC §6 as plain data, and the decisions it makes: scopes, rules, approvals, reminders.

Pure domain: no Slack, no YAML, no settings object. The file is read by `bot/policy_file.py`; the
settings' values come in as `Defaults`. Group membership comes in as `groups`: the Slack user groups
(among those the policy names, see `PolicyDoc.group_ids`) that the person is in; `groups_of` builds it
from the `GroupDirectory` port and fails closed (a failed lookup = not a member).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

log = logging.getLogger(__name__)

IMPLICIT_RULE_NAME = "default (from the settings)"
NO_TENANT = "(no tenant)"
NOT_IN_A_SCOPE = "You may not make requests: the policy gives you no tenants (ask an admin to add you to a scope)."


def outside_scope(tenant: str) -> str:
    """The refusal (and the `request.refused` outcome) for a target outside the requester's tenants."""
    return f"{tenant} is not one of your tenants"


def is_group(identity: str) -> bool:
    """Slack user group ids start with S; users with U or W."""
    return identity.startswith("S")


@dataclass(frozen=True, slots=True)
class Tenants:
    """ImmyBot tenants by id or by whole name (compared case-insensitively), or every tenant."""

    ids: frozenset[int] = frozenset()
    names: frozenset[str] = frozenset()  # casefolded
    every: bool = False
    written: tuple[int | str, ...] = field(default=(), compare=False)  # as the file spells them, for words

    @classmethod
    def of(cls, refs: Iterable[int | str]) -> Tenants:
        refs = list(refs)
        return cls(
            ids=frozenset(r for r in refs if isinstance(r, int)),
            names=frozenset(r.strip().casefold() for r in refs if isinstance(r, str) and r.strip() != "*"),
            every=any(isinstance(r, str) and r.strip() == "*" for r in refs),
            written=tuple(refs),
        )

    def contains(self, tenant_id: int | None, tenant_name: str | None) -> bool:
        if self.every:
            return True
        return (tenant_id is not None and tenant_id in self.ids) or (
            tenant_name is not None and tenant_name.casefold() in self.names
        )

    def __or__(self, other: Tenants) -> Tenants:
        written = self.written + tuple(r for r in other.written if r not in self.written)
        return Tenants(self.ids | other.ids, self.names | other.names, self.every or other.every, written)

    @property
    def empty(self) -> bool:
        return not (self.every or self.ids or self.names)

    def resolve(self, known: Iterable[tuple[int | None, str | None]]) -> frozenset[int] | None:
        """The positions in `known` (the catalog's tenant list) these tenants cover; None = all of them.

        Resolve once per person and catalog refresh; filtering a computer is then `its tenant in set`.
        """
        if self.every:
            return None
        return frozenset(n for n, (tid, name) in enumerate(known) if self.contains(tid, name))


ALL_TENANTS = Tenants(every=True)
NO_TENANTS = Tenants()


@dataclass(frozen=True, slots=True)
class Scope:
    members: frozenset[str]  # users U…/W… and groups S…
    tenants: Tenants


@dataclass(frozen=True, slots=True)
class When:
    """Conditions of a rule; None = not a condition. All conditions given must hold."""

    tenants: Tenants | None = None
    software: tuple[str, ...] | None = None  # case-insensitive, `*` wildcards
    catalogs: frozenset[str] | None = None  # Global / Local
    actions: frozenset[str] | None = None  # desired-state names
    min_targets: int | None = None
    preview: bool | None = None
    requesters: frozenset[str] | None = None  # users and groups


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as written: a field left out (None) takes the settings' value."""

    name: str
    when: When = field(default_factory=When)
    approvers: frozenset[str] | None = None
    approvals: int | None = None
    channel: str | None = None
    allow_self_approval: bool | None = None
    ttl_hours: float | None = None


@dataclass(frozen=True, slots=True)
class Reminders:
    after_minutes: float
    repeat: int = 1
    escalate_to: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PolicyDoc:
    """A policy file's content. `scopes` None: the file has none, and everyone sees every tenant."""

    scopes: tuple[Scope, ...] | None = None
    rules: tuple[RuleSpec, ...] = ()
    reminders: Reminders | None = None

    def group_ids(self) -> frozenset[str]:
        """Every user group the policy names: the ones whose membership decisions need."""
        named: set[str] = set()
        for scope in self.scopes or ():
            named |= scope.members
        for rule in self.rules:
            named |= rule.approvers or frozenset()
            named |= rule.when.requesters or frozenset()
        if self.reminders:
            named |= self.reminders.escalate_to
        return frozenset(i for i in named if is_group(i))


EMPTY_POLICY = PolicyDoc()


@dataclass(frozen=True, slots=True)
class Defaults:
    """The settings' values the implicit rule and a rule's missing fields take (SPEC §2)."""

    approvers: frozenset[str]
    channel: str
    allow_self_approval: bool = False
    ttl_hours: float = 24.0


@dataclass(frozen=True, slots=True)
class Rule:
    """The rule that decides one request, every field filled in."""

    name: str
    approvers: frozenset[str]
    approvals: int
    channel: str
    allow_self_approval: bool
    ttl_hours: float
    implicit: bool = False

    @property
    def approved_by_policy(self) -> bool:
        return self.approvals == 0


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a rule may look at. `target_tenants`: (tenant id, tenant name) of each target computer."""

    requester: str
    software_name: str
    catalog: str
    action: str
    target_tenants: Sequence[tuple[int | None, str | None]]
    preview: bool = False


# ---- groups ---------------------------------------------------------------------------------------


async def groups_of(
    user: str, group_ids: Iterable[str], members: Callable[[str], Awaitable[frozenset[str]]]
) -> frozenset[str]:
    """The groups among `group_ids` that `user` is in. A lookup that fails counts as not a member.

    Looked up together, not one after another: a 20-scope policy's first keystroke waits for one round trip."""

    async def member_of(group: str) -> bool:
        try:
            return user in await members(group)
        except Exception:
            log.warning("user group lookup failed; treating as not a member", extra={"group": group}, exc_info=True)
            return False

    ordered = sorted(group_ids)
    found = await asyncio.gather(*(member_of(group) for group in ordered))
    return frozenset(group for group, yes in zip(ordered, found, strict=True) if yes)


def _named(identities: frozenset[str], user: str, groups: frozenset[str]) -> bool:
    return user in identities or not groups.isdisjoint(identities)


# ---- scopes ---------------------------------------------------------------------------------------


def tenants_for(policy: PolicyDoc, user: str, groups: frozenset[str]) -> Tenants:
    """The union of the scopes naming `user` or one of their groups; every tenant without `scopes`.

    An empty result means the person may not request at all.
    """
    if policy.scopes is None:
        return ALL_TENANTS
    result = NO_TENANTS
    for scope in policy.scopes:
        if _named(scope.members, user, groups):
            result = result | scope.tenants
    return result


def may_target(scope: Tenants, targets: Iterable[tuple[int | None, str | None]]) -> str | None:
    """None when every target's tenant is in `scope`; else the first tenant outside it (its name, or id)."""
    for tenant_id, tenant_name in targets:
        if not scope.contains(tenant_id, tenant_name):
            return tenant_name or (str(tenant_id) if tenant_id is not None else NO_TENANT)
    return None


# ---- rules ----------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _pattern(wildcard: str) -> re.Pattern[str]:
    return re.compile(".*".join(map(re.escape, wildcard.split("*"))), re.IGNORECASE | re.DOTALL)


def software_matches(patterns: Iterable[str], name: str) -> bool:
    """Whole-name, case-insensitive match; `*` stands for any run of characters."""
    return any(_pattern(p.strip()).fullmatch(name.strip()) for p in patterns)


def holds(when: When, facts: RequestFacts, groups: frozenset[str]) -> bool:
    """Whether every condition given in `when` holds for this request."""
    if when.tenants is not None and not any(when.tenants.contains(i, n) for i, n in facts.target_tenants):
        return False
    if when.software is not None and not software_matches(when.software, facts.software_name):
        return False
    if when.catalogs is not None and facts.catalog.casefold() not in {c.casefold() for c in when.catalogs}:
        return False
    if when.actions is not None and facts.action not in when.actions:
        return False
    if when.min_targets is not None and len(facts.target_tenants) < when.min_targets:
        return False
    if when.preview is not None and facts.preview != when.preview:
        return False
    return when.requesters is None or _named(when.requesters, facts.requester, groups)


def implicit_rule(defaults: Defaults) -> Rule:
    """Today's behaviour from the settings: APPROVERS, one approval, APPROVAL_CHANNEL (SPEC §6)."""
    return Rule(
        name=IMPLICIT_RULE_NAME,
        approvers=defaults.approvers,
        approvals=1,
        channel=defaults.channel,
        allow_self_approval=defaults.allow_self_approval,
        ttl_hours=defaults.ttl_hours,
        implicit=True,
    )


def resolve(spec: RuleSpec, defaults: Defaults) -> Rule:
    return Rule(
        name=spec.name,
        approvers=spec.approvers if spec.approvers is not None else defaults.approvers,
        approvals=spec.approvals if spec.approvals is not None else 1,
        channel=spec.channel or defaults.channel,
        allow_self_approval=(
            spec.allow_self_approval if spec.allow_self_approval is not None else defaults.allow_self_approval
        ),
        ttl_hours=spec.ttl_hours if spec.ttl_hours is not None else defaults.ttl_hours,
    )


def rule_for(policy: PolicyDoc, facts: RequestFacts, groups: frozenset[str], defaults: Defaults) -> Rule:
    """The first rule whose `when` holds, its missing fields from the settings; none: the implicit rule."""
    for spec in policy.rules:
        if holds(spec.when, facts, groups):
            return resolve(spec, defaults)
    return implicit_rule(defaults)


# ---- decisions ------------------------------------------------------------------------------------


def decision_refusal(
    rule: Rule,
    policy: PolicyDoc,
    actor: str,
    actor_groups: frozenset[str],
    requester: str,
    *,
    escalated: bool = False,
) -> str | None:
    """Why `actor` may not approve or deny a request decided by `rule`, or None when they may.

    Eligible: the rule's approvers, and once the request is escalated (`request.escalated` recorded)
    the reminders' `escalate_to`. Self-approval follows the rule, for escalation contacts too.
    """
    eligible = _named(rule.approvers, actor, actor_groups)
    if not eligible and escalated and policy.reminders is not None:
        eligible = _named(policy.reminders.escalate_to, actor, actor_groups)
    if not eligible:
        return "not an approver of this request"
    if actor == requester and not rule.allow_self_approval:
        return "may not decide their own request"
    return None


ApprovalCount = Literal["duplicate", "added", "complete"]


def count_approval(needed: int, approved_by: Sequence[str], approver: str) -> ApprovalCount:
    """Add `approver`'s approval to those already recorded (in order): `duplicate` changes nothing,
    `added` records `approval.added`, `complete` means this one reaches `needed` (`request.approved`)."""
    if approver in approved_by:
        return "duplicate"
    return "complete" if len(set(approved_by)) + 1 >= max(needed, 1) else "added"
