"""The policy wired into the request service (SPEC §6): reminders from the database survive a restart,
escalation widens who may decide, several approvals count each approver once, scopes refuse a target,
a failed group lookup fails closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.policy_file import parse_policy
from bot.workflow.approvals import AlreadyApproved, ReminderTick
from bot.workflow.errors import InvalidSubmission, NotAllowed
from bot.workflow.model import Computer, Draft, Targets
from bot.workflow.service import RequestService
from tests.domain.fakes import InMemoryStore
from tests.workflow.factories import APPROVER, APPROVER2, REQUESTER, Clock, FakeGroups, make_draft, make_policy

ONCALL = "U0ONCALL"
POLICY = """\
scopes:
  - members: [UREQUESTER]
    tenants: [Contoso Ltd]
  - members: [S0LEADS]
    tenants: ["*"]
rules:
  - name: two for everything
    approvals: 2
    approvers: [UAPPROVER, UAPPROVER2, S0LEADS]
reminders:
  after_minutes: 30
  repeat: 2
  escalate_to: [U0ONCALL]
"""


def contoso(draft_requester: str = REQUESTER, tenant: str = "Contoso Ltd") -> Draft:
    draft = make_draft(draft_requester)
    computers = tuple(Computer(id=c.id, name=c.name, tenant_id=1, tenant_name=tenant) for c in draft.targets.computers)
    return draft.model_copy(update={"targets": Targets(computers=computers)})


@pytest.fixture
async def world() -> AsyncIterator[tuple[RequestService, InMemoryStore, Clock, FakeGroups]]:
    clock, groups = Clock(), FakeGroups({"S0LEADS": {"U0LEAD"}})
    store = InMemoryStore()
    policy = make_policy(groups, doc=parse_policy(POLICY), approval_channel="C0APPROVALS")
    yield RequestService(store, policy, clock=clock), store, clock, groups
    await store.close()


async def test_reminders_survive_a_restart_and_escalation_lets_the_contact_decide(world) -> None:
    service, store, clock, groups = world
    request = await service.submit(contoso())
    policy = make_policy(groups, doc=parse_policy(POLICY))
    with pytest.raises(NotAllowed):
        await service.approve(request.id, ONCALL)
    clock.advance(minutes=31)
    first = await ReminderTick(store, policy, clock).tick()
    assert [s.kind for done in first for s in done.steps] == ["remind"]
    # a new process (a new tick, nothing in memory) neither repeats the first reminder...
    assert await ReminderTick(store, policy, clock).tick() == []
    await store.close()
    store = store.sibling()  # a restarted process: the same durable state, nothing else
    try:
        clock.advance(minutes=30)  # ...nor loses the second; the escalation comes right after it
        second = await ReminderTick(store, policy, clock).tick()
        assert [(s.kind, s.number) for done in second for s in done.steps] == [("remind", 2), ("escalate", 2)]
        service = RequestService(store, policy, clock=clock)
        events = [r["event"] for r in await service.audit_rows(request_id=request.id)]
        assert events.count("request.reminded") == 2 and events.count("request.escalated") == 1
        await service.approve(request.id, ONCALL)  # one of the two approvals now
        assert (await service.get(request.id)).approved_by == [ONCALL]
    finally:
        await store.close()


async def test_two_approvals_count_each_approver_once_and_race_safely(world) -> None:
    service, _, _, _ = world
    request = await service.submit(contoso())
    await service.approve(request.id, APPROVER)
    with pytest.raises(AlreadyApproved):
        await service.approve(request.id, APPROVER)
    results = await asyncio.gather(*(service.decide("approve", request.id, u) for u in [APPROVER, APPROVER2,
                                                                                        "U0LEAD"] * 3),
                                   return_exceptions=True)
    done = await service.get(request.id)
    assert done.state.value == "approved" and len(done.approved_by) == 2 == len(set(done.approved_by))
    assert sum(1 for r in results if not isinstance(r, BaseException) and r.tell) == 1
    events = [(r["event"], r["actor"]) for r in await service.audit_rows(request_id=request.id)]
    assert [a for e, a in events if e == "approval.added"] == done.approved_by
    assert [a for e, a in events if e == "request.approved"] == [done.approved_by[-1]]


async def test_a_target_outside_the_scope_is_refused_naming_the_tenant(world) -> None:
    service, _, _, _ = world
    with pytest.raises(InvalidSubmission, match="Fabrikam Inc is not one of your tenants"):
        await service.submit(contoso(tenant="Fabrikam Inc"))
    rows = await service.audit_rows()
    assert rows[-1]["event"] == "request.refused" and "Fabrikam Inc" in rows[-1]["outcome"]


async def test_a_failed_group_lookup_fails_closed(world) -> None:
    service, _, _, groups = world
    groups.fail = True
    with pytest.raises(NotAllowed):  # U0LEAD's scope comes through S0LEADS: unknown, so no scope
        await service.submit(contoso("U0LEAD"))
