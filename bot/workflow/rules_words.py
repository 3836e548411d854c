"""A policy in plain words, for `immybot-slack policy check` (and later `doctor`)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.workflow.rules import PolicyDoc, Reminders, RuleSpec, Tenants, When


def _ids(identities: Iterable[str]) -> str:
    parts = [f"group {i}" if i.startswith("S") else i for i in sorted(identities)]
    return ", ".join(parts) or "nobody"


def _tenants(tenants: Tenants) -> str:
    if tenants.every:
        return "every tenant"
    written = tenants.written or (*sorted(tenants.ids), *sorted(tenants.names))
    return ", ".join(f"tenant id {r}" if isinstance(r, int) else f'"{r}"' for r in written)


def _number(value: float) -> str:
    return f"{value:g}"


def _conditions(when: When) -> str:
    parts: list[str] = []
    if when.tenants is not None:
        parts.append(f"a computer is in {_tenants(when.tenants)}")
    if when.software is not None:
        parts.append("the software is " + " or ".join(f'"{p}"' for p in when.software))
    if when.catalogs is not None:
        parts.append("the catalog is " + " or ".join(sorted(when.catalogs)))
    if when.actions is not None:
        parts.append("the action is " + " or ".join(sorted(when.actions)))
    if when.min_targets is not None:
        parts.append(f"at least {when.min_targets} computers")
    if when.preview is not None:
        parts.append("it is a preview" if when.preview else "it is not a preview")
    if when.requesters is not None:
        parts.append(f"the requester is {_ids(when.requesters)}")
    return "always" if not parts else "when " + " and ".join(parts)


def _outcome(rule: RuleSpec) -> str:
    approvals = 1 if rule.approvals is None else rule.approvals
    if approvals == 0:
        return "approved by the policy at submission (no approver needed)"
    who = "APPROVERS" if rule.approvers is None else _ids(rule.approvers)
    count = "1 approval" if approvals == 1 else f"{approvals} approvals from distinct approvers"
    parts = [f"{count} by {who}", f"card in {rule.channel or 'APPROVAL_CHANNEL'}"]
    if rule.allow_self_approval is not None:
        parts.append("self-approval allowed" if rule.allow_self_approval else "no self-approval")
    if rule.ttl_hours is not None:
        parts.append(f"expires after {_number(rule.ttl_hours)} h")
    return ", ".join(parts)


def _reminders(reminders: Reminders) -> str:
    every = _number(reminders.after_minutes)
    text = (
        f"Reminders: {reminders.repeat} in all, every {every} min from the request's creation, mentioning the approvers"
        if reminders.repeat
        else "Reminders: none"
    )
    if reminders.escalate_to:
        text += f"; then escalated to {_ids(reminders.escalate_to)}, who may then decide the request too"
    return text + "."


def describe(policy: PolicyDoc) -> list[str]:
    """One line per scope, rule and the reminders, numbered from 1 as a person counts."""
    lines: list[str] = []
    if policy.scopes is None:
        lines.append("Scopes: none; everyone allowed to request sees every tenant.")
    else:
        lines.append("Scopes (a person's tenants are the union of theirs; someone in none may not request):")
        for n, scope in enumerate(policy.scopes, 1):
            lines.append(f"  {n}. {_ids(scope.members)} → {_tenants(scope.tenants)}")
    if not policy.rules:
        lines.append("Rules: none; every request follows the default rule from the settings.")
    else:
        lines.append("Rules (the first that holds decides; none: the default rule from the settings):")
        for n, rule in enumerate(policy.rules, 1):
            lines.append(f'  {n}. "{rule.name}": {_conditions(rule.when)} → {_outcome(rule)}')
    lines.append("Default rule: 1 approval by APPROVERS, card in APPROVAL_CHANNEL, ALLOW_SELF_APPROVAL, "
                 "APPROVAL_TTL_HOURS.")  # fmt: skip
    lines.append(_reminders(policy.reminders) if policy.reminders else "Reminders: none.")
    return lines
