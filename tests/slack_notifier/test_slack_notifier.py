"""SlackNotifier against the fake Slack over HTTP: what each workflow step turns into (cards posted and
remembered, re-rendered in place, one thread reply, the approval card's thread for reminders). Who calls
it and how often is tested in `tests/domain/test_notified_steps.py`; the whole flow in `tests/slack_e2e`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.policy_file import parse_policy
from bot.slack.notifier import SlackNotifier
from bot.store import Store
from bot.workflow.model import Draft, Request, RequestState, SessionInfo
from bot.workflow.ports import Notifier, Untold
from bot.workflow.reminder_schedule import ReminderStep
from bot.workflow.service import RequestService
from immybot_slack_sandbox.slack import FakeSlack
from immybot_slack_sandbox.slack_seed import SeededWorkspace
from tests.domain.notifier_fakes import RecordingNotifier
from tests.workflow.factories import Clock, make_draft, make_policy

POLICY = """\
rules:
  - name: previews are <free>
    when: {preview: true}
    approvals: 0
  - name: two approvers
    approvals: 2
    approvers: [U0BOB, U0DAVE]
reminders:
  after_minutes: 30
  repeat: 2
  escalate_to: [U0ONCALL]
"""


@dataclass
class Rig:
    notifier: SlackNotifier
    service: RequestService
    fake: FakeSlack
    ws: SeededWorkspace
    reporter: RecordingNotifier  # stands in for the SlackReporter the run's steps are delegated to

    def draft(self, **options: bool) -> Draft:
        draft = make_draft("U0ALICE").model_copy(update={"channel": self.ws.ops_channel})
        return draft.model_copy(update={"options": draft.options.model_copy(update=options)})

    async def created(self, **options: bool) -> Request:
        request = await self.service.submit(self.draft(**options))
        await self.notifier.created(request)
        return await self.service.get(request.id)

    def thread(self, request: Request) -> list[str]:
        assert request.request_card is not None
        return [m.text for m in self.fake.thread(request.request_card.channel, request.request_card.ts)]


async def _rig(tmp_path: Path, fake: FakeSlack, client: AsyncWebClient, ws: SeededWorkspace,
               approval_channel: str) -> AsyncIterator[Rig]:
    store = await Store.open(tmp_path / "notifier.db")
    doc = parse_policy(POLICY)
    service = RequestService(store, make_policy(approver_users={"U0BOB"}, doc=doc, approval_channel=approval_channel),
                             clock=Clock())
    reporter = RecordingNotifier()
    notifier = SlackNotifier(client, service, reporter, approval_channel=approval_channel, approval_ttl_hours=24,
                             reminders=doc.reminders)
    yield Rig(notifier, service, fake, ws, reporter)
    await store.close()


@pytest.fixture
async def rig(tmp_path: Path, fake_slack: FakeSlack, slack_client: AsyncWebClient,
              slack_workspace: SeededWorkspace) -> AsyncIterator[Rig]:
    async for built in _rig(tmp_path, fake_slack, slack_client, slack_workspace, slack_workspace.approval_channel):
        yield built


async def test_created_posts_both_cards_and_remembers_them_without_a_reply(rig: Rig) -> None:
    request = await rig.created()
    assert request.state is RequestState.PENDING
    assert request.request_card is not None and request.request_card.channel == rig.ws.ops_channel
    assert request.approval_card is not None and request.approval_card.channel == rig.ws.approval_channel
    assert rig.thread(request) == []


async def test_created_by_a_policy_rule_says_so_escaped(rig: Rig) -> None:
    request = await rig.created(preview=True)
    assert request.state is RequestState.APPROVED
    assert rig.thread(request) == ["Approved by the policy rule *previews are &lt;free&gt;* — starting."]


async def test_an_approval_card_that_cannot_be_posted_is_said_in_the_thread(
        tmp_path: Path, fake_slack: FakeSlack, slack_client: AsyncWebClient, slack_workspace: SeededWorkspace) -> None:
    async for rig in _rig(tmp_path, fake_slack, slack_client, slack_workspace, slack_workspace.outside_channel):
        request = await rig.created()
        assert request.request_card is not None and request.approval_card is None
        assert "could not be posted in the approval channel" in rig.thread(request)[0]


async def test_each_decision_re_renders_both_cards_and_replies_once(rig: Rig) -> None:
    request = await rig.created()
    updates = len(rig.fake.calls("chat.update"))
    added = await rig.service.decide("approve", request.id, "U0BOB")
    await rig.notifier.approval_added(added.request, "U0BOB")
    approved = await rig.service.decide("approve", request.id, "U0DAVE")
    await rig.notifier.decided(approved.request, "U0DAVE")
    assert len(rig.fake.calls("chat.update")) == updates + 4  # two cards, twice
    first, second = rig.thread(request)
    assert "<@U0BOB> approved" in first and "1 of 2" in first
    assert second == "Approved by <@U0DAVE> — starting."


async def test_a_denial_quotes_the_reason_escaped(rig: Rig) -> None:
    request = await rig.created()
    denied = await rig.service.decide("deny", request.id, "U0BOB", reason="not <!channel> & today")
    await rig.notifier.decided(denied.request, "U0BOB")
    assert rig.thread(request) == ["Denied by <@U0BOB>: not &lt;!channel&gt; &amp; today"]


async def test_a_cancel_of_a_running_request_says_its_sessions_stop(rig: Rig) -> None:
    request = await rig.created(preview=True)
    await rig.service.begin_start(request.id)
    await rig.service.record_started(request.id, [SessionInfo(session_id=9, computer_id=1)])
    cancelled = await rig.service.decide("cancel", request.id, "U0BOB")
    await rig.notifier.cancelled(cancelled.request, "U0BOB")
    assert rig.thread(request)[-1] == "Cancelled by <@U0BOB> — stopping its ImmyBot sessions."


async def test_expiry_tells_the_requester_with_the_rules_approval_time(rig: Rig) -> None:
    request = await rig.created()
    await rig.notifier.expired(request.model_copy(update={"state": RequestState.EXPIRED}))
    reply = rig.thread(request)[-1]
    assert reply.startswith("<@U0ALICE> request #") and "within 24 h" in reply


async def test_reminders_go_to_the_approval_cards_thread(rig: Rig) -> None:
    request = await rig.created()
    assert request.approval_card is not None
    steps = (ReminderStep(kind="remind", number=2, at=request.created_at + timedelta(minutes=60)),
             ReminderStep(kind="escalate", number=2, at=request.created_at + timedelta(minutes=60)))
    await rig.notifier.reminded(request, steps)
    texts = [m.text for m in rig.fake.thread(request.approval_card.channel, request.approval_card.ts)]
    assert len(texts) == 2 and "<@U0BOB>" in texts[0] and "<@U0ONCALL>" in texts[1]
    assert rig.thread(request) == []


async def test_the_runs_steps_are_the_reporters(rig: Rig) -> None:
    request = await rig.created()
    await rig.notifier.progress(request, immybot_unavailable=True)
    await rig.notifier.start_cancelled(request, [1], [2])
    await rig.notifier.final(request, [])
    assert rig.reporter.steps() == ["progress", "start_cancelled", "final"]


@pytest.mark.parametrize("fake", [SlackNotifier, RecordingNotifier, Untold])
def test_every_step_of_the_port_is_implemented(fake: type) -> None:
    """A step added to the domain's Notifier (or the Reporter it extends) must reach Slack and the
    recording fake: a missing one would only fail at run time, on the path that needs it."""
    steps = {name for klass in Notifier.__mro__ if klass.__module__ == "bot.workflow.ports"
             for name, value in vars(klass).items() if callable(value) and not name.startswith("_")}
    assert steps and not steps - set(dir(fake))
