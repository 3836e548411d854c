"""A small seeded workspace for the fake Slack, shared by the tests and the demo."""

from __future__ import annotations

from dataclasses import dataclass

from immybot_slack_sandbox.slack import FakeSlack


@dataclass(frozen=True)
class SeededWorkspace:
    requester: str = "U0ALICE"  # a technician
    approver: str = "U0BOB"  # in APPROVERS through the group
    other: str = "U0CAROL"  # neither (clicks Approve and is refused)
    ops_channel: str = "C0OPS"  # where /immy is run; the bot is a member
    approval_channel: str = "C0APPROVE"
    outside_channel: str = "C0OUTSIDE"  # the bot is not a member
    approvers_group: str = "S0APPROVERS"


def seed_workspace(fake: FakeSlack) -> SeededWorkspace:
    ws = SeededWorkspace()
    fake.add_user(ws.requester, "alice", real_name="Alice Tech", email="alice@example.com")
    fake.add_user(ws.approver, "bob", real_name="Bob Lead", email="bob@example.com")
    fake.add_user(ws.other, "carol", real_name="Carol Other", email="carol@example.com")
    everyone = [ws.requester, ws.approver, ws.other]
    fake.add_channel(ws.ops_channel, "it-ops", members=everyone)
    fake.add_channel(ws.approval_channel, "immy-approvals", members=[ws.approver, ws.other])
    fake.add_channel(ws.outside_channel, "random", members=everyone, bot_member=False)
    fake.add_group(ws.approvers_group, "immy-approvers", [ws.approver])
    return ws
