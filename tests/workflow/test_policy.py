"""Policy: approvers (users and groups), requesters, self-approval, limits, refusals audited."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.config import load_settings
from bot.workflow.errors import InvalidSubmission, NotAllowed
from bot.workflow.model import RequestState
from bot.workflow.service import RequestService
from tests.workflow.factories import (
    APPROVER,
    GROUP,
    GROUP_MEMBER,
    REQUESTER,
    STRANGER,
    Clock,
    FakeGroups,
    make_domain_service,
    make_draft,
    make_policy,
)


async def test_approver_by_user_or_group_and_cache() -> None:
    groups = FakeGroups(delay=0.01)
    now = [0.0]
    policy = make_policy(groups, monotonic=lambda: now[0])
    assert await policy.is_approver(APPROVER)
    assert groups.calls == []  # a listed user needs no lookup
    results = await asyncio.gather(*(policy.is_approver(GROUP_MEMBER) for _ in range(20)))
    assert all(results) and groups.calls == [GROUP]  # one in-flight lookup for twenty callers
    assert not await policy.is_approver(STRANGER)
    assert groups.calls == [GROUP]  # cached
    now[0] += 61
    groups.groups[GROUP] = set()
    assert not await policy.is_approver(GROUP_MEMBER)  # cache expired, membership re-read
    assert groups.calls == [GROUP, GROUP]


async def test_failed_group_lookup_fails_closed_and_is_not_cached() -> None:
    groups = FakeGroups()
    groups.fail = True
    policy = make_policy(groups)
    assert not await policy.is_approver(GROUP_MEMBER)
    groups.fail = False
    assert await policy.is_approver(GROUP_MEMBER)


async def test_requesters_list() -> None:
    everyone = make_policy()
    assert await everyone.may_request(STRANGER)
    groups = FakeGroups({"SREQ": {"UINGROUP"}})
    limited = make_policy(groups, requester_users={REQUESTER}, requester_groups={"SREQ"})
    assert await limited.may_request(REQUESTER) and await limited.may_request("UINGROUP")
    assert not await limited.may_request(STRANGER)


def test_from_settings(valid_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTERS", "U0REQ,S0REQS")
    monkeypatch.setenv("APPROVAL_TTL_HOURS", "0.5")
    monkeypatch.setenv("MAX_TARGETS", "3")
    from bot.services import policy_from_settings

    policy = policy_from_settings(load_settings(), FakeGroups())
    assert policy.approver_users == {"U0APPROVER"} and policy.approver_groups == {"S0GROUP"}
    assert policy.requester_users == {"U0REQ"} and policy.requester_groups == {"S0REQS"}
    assert policy.approval_ttl == timedelta(minutes=30) and policy.max_targets == 3
    assert policy.allow_self_approval is False


async def test_submission_refusals_are_audited() -> None:
    service, store = make_domain_service(requester_users={REQUESTER}, max_targets=3)
    try:
        with pytest.raises(NotAllowed):
            await service.submit(make_draft(requester=STRANGER))
        with pytest.raises(InvalidSubmission) as too_many:
            await service.submit(make_draft(computers=4))
        assert too_many.value.field == "targets" and "limit of 3" in too_many.value.message
        with pytest.raises(InvalidSubmission) as none:
            await service.submit(make_draft(computers=0, email="a@b.example"))
        assert none.value.field == "targets"
        with pytest.raises(InvalidSubmission) as no_reason:
            await service.submit(make_draft(reason="  "))
        assert no_reason.value.field == "reason"
        await service.refuse(REQUESTER, "no computers have primary user nobody@x.example")
        rows = await service.audit_rows()
        assert [r["event"] for r in rows] == ["request.refused"] * 5
        assert all(r["request_id"] is None for r in rows)
        assert rows[0]["actor"] == STRANGER and "not allowed" in rows[0]["outcome"]
        assert rows[2]["targets"] == [{"email": "a@b.example"}]
        assert rows[4]["software"] is None and rows[4]["outcome"].startswith("no computers")
        assert await service.pending() == []
        assert (await service.submit(make_draft(computers=3))).state is RequestState.PENDING
    finally:
        await store.close()


@pytest.mark.parametrize("self_approval", [False, True])
async def test_self_approval(self_approval: bool) -> None:
    service, store = make_domain_service(allow_self_approval=self_approval)
    try:
        request = await service.submit(make_draft(requester=APPROVER))
        if self_approval:
            assert (await service.approve(request.id, APPROVER)).state is RequestState.APPROVED
            return
        with pytest.raises(NotAllowed, match="own request"):
            await service.approve(request.id, APPROVER)
        with pytest.raises(NotAllowed, match="own request"):
            await service.deny(request.id, APPROVER, "changed my mind")
        assert (await service.cancel(request.id, APPROVER)).state is RequestState.CANCELLED  # cancelling is fine
        rows = await service.audit_rows(request_id=request.id)
        refused = [r["outcome"] for r in rows if r["event"] == "decision.refused"]
        assert refused == ["approve: may not decide their own request", "deny: may not decide their own request"]
    finally:
        await store.close()


async def test_non_approvers_refused_and_audited(service: RequestService) -> None:
    request = await service.submit(make_draft())
    for attempt in (
        service.approve(request.id, STRANGER),
        service.deny(request.id, REQUESTER, "x"),
        service.cancel(request.id, STRANGER),
    ):
        with pytest.raises(NotAllowed):
            await attempt
    assert (await service.get(request.id)).state is RequestState.PENDING
    rows = [r for r in await service.audit_rows(request_id=request.id) if r["event"] == "decision.refused"]
    assert [(r["actor"], r["outcome"]) for r in rows] == [
        (STRANGER, "approve: not an approver"),
        (REQUESTER, "deny: not an approver"),
        (STRANGER, "cancel: not the requester or an approver"),
    ]
    approved = await service.approve(request.id, GROUP_MEMBER)  # group membership counts
    with pytest.raises(NotAllowed, match="only an approver"):
        await service.cancel(approved.id, REQUESTER)


async def test_preview_by_approver_is_auto_approved(service: RequestService) -> None:
    request = await service.submit(make_draft(requester=APPROVER, preview=True))
    assert request.state is RequestState.APPROVED and request.auto_approved and request.decided_by == APPROVER
    rows = await service.audit_rows(request_id=request.id)
    assert [(r["event"], r["actor"]) for r in rows] == [("request.created", APPROVER), ("request.approved", APPROVER)]
    assert rows[1]["outcome"] == "auto_approved"
    assert (await service.submit(make_draft(requester=REQUESTER, preview=True))).state is RequestState.PENDING
    assert (await service.submit(make_draft(requester=APPROVER))).state is RequestState.PENDING  # not preview


async def test_preview_by_group_approver_too() -> None:
    service, store = make_domain_service(Clock())
    try:
        request = await service.submit(make_draft(requester=GROUP_MEMBER, preview=True))
        assert request.auto_approved
    finally:
        await store.close()
