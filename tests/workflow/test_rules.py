"""The policy of SPEC §6 as a table of cases: scopes, rule conditions, first match, defaults, decisions, reminders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.workflow.reminder_schedule import due_steps, reminder_schedule
from bot.workflow.rules import (
    ALL_TENANTS,
    IMPLICIT_RULE_NAME,
    NO_TENANT,
    Defaults,
    PolicyDoc,
    Reminders,
    RequestFacts,
    RuleSpec,
    Scope,
    Tenants,
    When,
    count_approval,
    decision_refusal,
    groups_of,
    may_target,
    rule_for,
    tenants_for,
)

DEFAULTS = Defaults(approvers=frozenset({"U0APPROVER", "S0APPROVERS"}), channel="C0APPROVALS",
                    allow_self_approval=False, ttl_hours=24.0)  # fmt: skip
CONTOSO = (7, "Contoso Ltd")
FABRIKAM = (8, "Fabrikam Inc")
NONE = (None, None)

SCOPED = PolicyDoc(scopes=(
    Scope(frozenset({"S0CONTOSOTECHS", "U0REQ"}), Tenants.of(["Contoso Ltd"])),
    Scope(frozenset({"U0FAB"}), Tenants.of([8])),
    Scope(frozenset({"S0ADMINS"}), Tenants.of(["*"])),
))  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "user", "groups", "allowed", "refused"),
    [
        # no `scopes`: every tenant for everyone (REQUESTERS still gates who may request at all)
        (PolicyDoc(), "U0ANY", frozenset(), [CONTOSO, FABRIKAM, NONE], []),
        # by user id; tenant by whole name, case-insensitive
        (SCOPED, "U0REQ", frozenset(), [CONTOSO, (99, "CONTOSO LTD"), (7, "contoso ltd")], [FABRIKAM, (9, "Contoso")]),
        # by group membership
        (SCOPED, "U0TECH", frozenset({"S0CONTOSOTECHS"}), [CONTOSO], [FABRIKAM]),
        # tenant by id (the name does not matter then)
        (SCOPED, "U0FAB", frozenset(), [FABRIKAM, (8, "renamed")], [CONTOSO, (80, "Fabrikam Inc x")]),
        # union of several scopes
        (SCOPED, "U0REQ", frozenset({"S0ADMINS"}), [CONTOSO, FABRIKAM, NONE], []),
        # in no scope: nothing (may not request)
        (SCOPED, "U0STRANGER", frozenset({"S0OTHER"}), [], [CONTOSO, FABRIKAM, NONE]),
    ],
)
def test_scopes(policy, user, groups, allowed, refused) -> None:
    scope = tenants_for(policy, user, groups)
    for tenant_id, name in allowed:
        assert scope.contains(tenant_id, name), (tenant_id, name)
    for tenant_id, name in refused:
        assert not scope.contains(tenant_id, name), (tenant_id, name)
    assert scope.empty == (not allowed)


def test_no_scopes_is_all_tenants_and_in_none_is_empty() -> None:
    assert tenants_for(PolicyDoc(), "U0ANY", frozenset()) == ALL_TENANTS
    assert tenants_for(SCOPED, "U0STRANGER", frozenset()).empty


@pytest.mark.parametrize(
    ("targets", "outside"),
    [
        ([CONTOSO, CONTOSO], None),
        ([CONTOSO, FABRIKAM, (9, "Tailspin")], "Fabrikam Inc"),  # the first one outside is named
        ([CONTOSO, (9, None)], "9"),
        ([CONTOSO, NONE], NO_TENANT),
        ([], None),
    ],
)
def test_may_target_is_scope_intersect_targets(targets, outside) -> None:
    assert may_target(tenants_for(SCOPED, "U0REQ", frozenset()), targets) == outside


def test_resolve_to_catalog_tenant_positions() -> None:
    known = [CONTOSO, FABRIKAM, (9, "contoso ltd"), NONE]
    assert Tenants.of(["CONTOSO LTD"]).resolve(known) == frozenset({0, 2})
    assert Tenants.of([8, "Nope"]).resolve(known) == frozenset({1})
    assert ALL_TENANTS.resolve(known) is None  # everything: no filter at all


def facts(**changes: object) -> RequestFacts:
    base = RequestFacts(requester="U0REQ", software_name="Google Chrome", catalog="Global", action="LatestVersion",
                        target_tenants=[CONTOSO], preview=False)  # fmt: skip
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("when", "matching", "not_matching"),
    [
        (When(), facts(), None),  # no `when`: always holds
        (When(tenants=Tenants.of(["fabrikam inc"])), facts(target_tenants=[CONTOSO, FABRIKAM]), facts()),
        (When(tenants=Tenants.of([7])), facts(), facts(target_tenants=[FABRIKAM])),
        (When(software=("google *",)), facts(), facts(software_name="Mozilla Firefox")),
        (When(software=("*CHROME",)), facts(), facts(software_name="Chrome Remote Desktop")),
        (When(software=("7-zip", "adobe*reader")), facts(software_name="Adobe Acrobat Reader"), facts()),
        (When(software=("google",)), facts(software_name="Google"), facts()),  # whole name, not a part
        (When(catalogs=frozenset({"Local"})), facts(catalog="Local"), facts()),
        (When(actions=frozenset({"NotPresent"})), facts(action="NotPresent"), facts()),
        (When(min_targets=3), facts(target_tenants=[CONTOSO] * 3), facts(target_tenants=[CONTOSO] * 2)),
        (When(preview=True), facts(preview=True), facts()),
        (When(preview=False), facts(), facts(preview=True)),
        (When(requesters=frozenset({"U0REQ"})), facts(), facts(requester="U0OTHER")),
        (When(requesters=frozenset({"S0JUNIORS"})), facts(requester="U0JUNIOR"), facts(requester="U0SENIOR")),
        # all conditions must hold
        (When(actions=frozenset({"NotPresent"}), catalogs=frozenset({"Global"})),
         facts(action="NotPresent"), facts(action="NotPresent", catalog="Local")),
    ],
)
def test_each_condition(when, matching, not_matching) -> None:
    policy = PolicyDoc(rules=(RuleSpec("r", when, approvals=2),))
    groups = {"U0JUNIOR": frozenset({"S0JUNIORS"})}
    assert rule_for(policy, matching, groups.get(matching.requester, frozenset()), DEFAULTS).name == "r"
    if not_matching is not None:
        rule = rule_for(policy, not_matching, groups.get(not_matching.requester, frozenset()), DEFAULTS)
        assert rule.name == IMPLICIT_RULE_NAME


def test_first_match_wins_and_defaults_come_from_the_settings() -> None:
    policy = PolicyDoc(rules=(
        RuleSpec("previews are free", When(preview=True), approvals=0),
        RuleSpec("uninstalls need two", When(actions=frozenset({"NotPresent"})), approvals=2),
        RuleSpec("fabrikam leads", When(tenants=Tenants.of(["Fabrikam Inc"])), approvers=frozenset({"U0FABLEAD"}),
                 channel="C0FABRIKAM", allow_self_approval=True, ttl_hours=2),
    ))  # fmt: skip
    preview_uninstall = rule_for(policy, facts(preview=True, action="NotPresent"), frozenset(), DEFAULTS)
    assert (preview_uninstall.name, preview_uninstall.approvals, preview_uninstall.approved_by_policy) == (
        "previews are free", 0, True)  # fmt: skip
    uninstall = rule_for(policy, facts(action="NotPresent", target_tenants=[FABRIKAM]), frozenset(), DEFAULTS)
    assert uninstall.name == "uninstalls need two"
    assert (uninstall.approvers, uninstall.channel, uninstall.allow_self_approval, uninstall.ttl_hours) == (
        DEFAULTS.approvers, "C0APPROVALS", False, 24.0)  # fmt: skip
    fab = rule_for(policy, facts(target_tenants=[FABRIKAM]), frozenset(), DEFAULTS)
    assert (fab.name, fab.approvals, fab.approvers, fab.channel, fab.allow_self_approval, fab.ttl_hours) == (
        "fabrikam leads", 1, frozenset({"U0FABLEAD"}), "C0FABRIKAM", True, 2)  # fmt: skip
    implicit = rule_for(policy, facts(), frozenset(), DEFAULTS)
    assert implicit.implicit and (implicit.approvers, implicit.approvals, implicit.channel) == (
        DEFAULTS.approvers, 1, "C0APPROVALS")  # fmt: skip
    assert rule_for(PolicyDoc(), facts(), frozenset(), DEFAULTS) == implicit  # no file: exactly the implicit rule


ESCALATING = PolicyDoc(reminders=Reminders(30, 2, frozenset({"U0ONCALL", "S0ONCALL"})))
TWO = rule_for(PolicyDoc(rules=(RuleSpec("two", approvals=2, approvers=frozenset({"U0A", "S0LEADS"})),)),
               facts(), frozenset(), DEFAULTS)  # fmt: skip
SELF_OK = replace(TWO, allow_self_approval=True)


@pytest.mark.parametrize(
    ("rule", "actor", "groups", "requester", "escalated", "refusal"),
    [
        (TWO, "U0A", frozenset(), "U0REQ", False, None),
        (TWO, "U0LEAD", frozenset({"S0LEADS"}), "U0REQ", False, None),
        (TWO, "U0APPROVER", frozenset(), "U0REQ", False, "not an approver of this request"),  # not the settings'
        (TWO, "U0A", frozenset(), "U0A", False, "may not decide their own request"),
        (SELF_OK, "U0A", frozenset(), "U0A", False, None),
        (TWO, "U0ONCALL", frozenset(), "U0REQ", False, "not an approver of this request"),  # not yet escalated
        (TWO, "U0ONCALL", frozenset(), "U0REQ", True, None),
        (TWO, "U0PAGER", frozenset({"S0ONCALL"}), "U0REQ", True, None),
        (TWO, "U0ONCALL", frozenset(), "U0ONCALL", True, "may not decide their own request"),
        (TWO, "U0STRANGER", frozenset(), "U0REQ", True, "not an approver of this request"),
    ],
)
def test_who_may_decide(rule, actor, groups, requester, escalated, refusal) -> None:
    assert decision_refusal(rule, ESCALATING, actor, groups, requester, escalated=escalated) == refusal


@pytest.mark.parametrize(
    ("needed", "already", "approver", "result"),
    [
        (1, [], "U0A", "complete"),
        (2, [], "U0A", "added"),
        (2, ["U0A"], "U0A", "duplicate"),  # the same approver twice counts once
        (2, ["U0A"], "U0B", "complete"),
        (3, ["U0A", "U0B"], "U0B", "duplicate"),
        (3, ["U0A", "U0B"], "U0C", "complete"),
    ],
)
def test_several_approvals(needed, already, approver, result) -> None:
    assert count_approval(needed, already, approver) == result


T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reminders", "expected"),
    [
        (None, []),
        (Reminders(30, 2, frozenset({"U0ONCALL"})), [(30, "remind", 1), (60, "remind", 2), (60, "escalate", 2)]),
        (Reminders(0.5, 3), [(0.5, "remind", 1), (1, "remind", 2), (1.5, "remind", 3)]),
        (Reminders(45, 0, frozenset({"U0ONCALL"})), [(45, "escalate", 0)]),  # no reminders: escalate after one interval
        (Reminders(10, 0), []),
    ],
)
def test_reminder_due_times(reminders, expected) -> None:
    steps = reminder_schedule(T0, reminders)
    assert [(s.at, s.kind, s.number) for s in steps] == [
        (T0 + timedelta(minutes=m), kind, n) for m, kind, n in expected
    ]


def test_due_steps_after_a_restart() -> None:
    steps = reminder_schedule(T0, Reminders(30, 2, frozenset({"U0ONCALL"})))
    assert due_steps(steps, 0, T0 + timedelta(minutes=29)) == ()
    assert [s.number for s in due_steps(steps, 0, T0 + timedelta(minutes=61))] == [1, 2, 2]  # caught up at once
    assert [s.kind for s in due_steps(steps, 2, T0 + timedelta(minutes=61))] == ["escalate"]
    assert due_steps(steps, 3, T0 + timedelta(days=1)) == ()


async def test_group_lookup_fails_closed() -> None:
    async def members(group: str) -> frozenset[str]:
        if group == "S0BROKEN":
            raise RuntimeError("usergroups.users.list failed")
        return frozenset({"U0ME"}) if group == "S0MINE" else frozenset()

    assert await groups_of("U0ME", {"S0MINE", "S0BROKEN", "S0OTHER"}, members) == frozenset({"S0MINE"})


def test_group_ids_names_every_group_of_the_policy() -> None:
    policy = PolicyDoc(
        scopes=(Scope(frozenset({"S0A", "U0X"}), ALL_TENANTS),),
        rules=(RuleSpec("r", When(requesters=frozenset({"S0B"})), approvers=frozenset({"S0C", "W0Y"})),),
        reminders=Reminders(5, 1, frozenset({"S0D"})),
    )
    assert policy.group_ids() == frozenset({"S0A", "S0B", "S0C", "S0D"})


@pytest.mark.parametrize("module", ["rules", "rules_words", "reminder_schedule"])
def test_the_policy_is_pure_domain(module: str) -> None:
    import ast
    from pathlib import Path

    import bot.workflow

    tree = ast.parse((Path(bot.workflow.__file__).parent / f"{module}.py").read_text())
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    for name in imported:
        assert not name.startswith(("bot.config", "bot.slack", "bot.store", "bot.immybot", "yaml", "pydantic")), name
