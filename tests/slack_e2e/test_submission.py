"""The modal's validation (errors on the right block, each refusal audited) and person/email targets."""

from __future__ import annotations

import pytest

from bot.slack.requests import ids
from tests.slack_e2e.conftest import JANE, World
from tests.slack_e2e.flows import CHROME, computer_ids, open_modal, request_via_modal, submit_unchecked

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _errors(world: World, user: str, **values: object) -> dict[str, str]:
    view = await open_modal(world, user)
    refused_before = len(await world.audit(actor=user))
    values.setdefault(ids.REASON_BLOCK, "ticket 1234")
    delivery = await submit_unchecked(world, user, view, **values)
    assert delivery.status == 200
    body = delivery.json()
    assert body["response_action"] == "errors", body
    rows = await world.audit(actor=user)
    assert [r["event"] for r in rows[refused_before:]] == ["request.refused"]
    assert rows[-1]["request_id"] is None and rows[-1]["outcome"]
    return body["errors"]


async def test_no_software(world: World) -> None:
    errors = await _errors(world, world.ws.requester, computers=computer_ids(world))
    assert set(errors) == {ids.SOFTWARE_BLOCK}


async def test_no_target(world: World) -> None:
    errors = await _errors(world, world.ws.requester, software=CHROME)
    assert set(errors) == {ids.COMPUTERS_BLOCK}


async def test_two_kinds_of_target(world: World) -> None:
    errors = await _errors(world, world.ws.requester, software=CHROME, computers=computer_ids(world),
                           email="jane.doe@contoso.com")
    assert set(errors) == {ids.COMPUTERS_BLOCK, ids.EMAIL_BLOCK}


async def test_email_without_computers(world: World) -> None:
    errors = await _errors(world, world.ws.requester, software=CHROME, email="nobody@nowhere.example")
    assert set(errors) == {ids.EMAIL_BLOCK}


async def test_person_without_computers(world: World) -> None:
    errors = await _errors(world, world.ws.requester, software=CHROME, person=world.ws.other)
    assert set(errors) == {ids.PERSON_BLOCK}


async def test_more_than_max_targets(world: World) -> None:
    view = await open_modal(world, world.ws.requester)
    before = len(await world.audit(actor=world.ws.requester))
    # the select caps itself at MAX_TARGETS; a hand-made state can still carry more
    six = [{"value": cid, "text": {"type": "plain_text", "text": cid}} for cid in computer_ids(world, 6)]
    raw = {ids.COMPUTERS_BLOCK: {ids.COMPUTERS_ACTION: {"type": "multi_external_select", "selected_options": six}}}
    delivery = await submit_unchecked(world, world.ws.requester, view, raw=raw, software=CHROME, reason="r")
    assert delivery.json()["response_action"] == "errors"
    assert set(delivery.json()["errors"]) == {ids.COMPUTERS_BLOCK}
    rows = (await world.audit(actor=world.ws.requester))[before:]
    assert [r["event"] for r in rows] == ["request.refused"]


async def test_email_target_is_case_insensitive(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester, email="JANE.DOE@contoso.COM")
    assert len(request.targets.computers) == 3
    assert request.targets.email == "JANE.DOE@contoso.COM"


async def test_person_target_uses_the_profile_email(world: World) -> None:
    request = await request_via_modal(world, world.ws.requester, person=JANE)
    assert len(request.targets.computers) == 3
    assert request.targets.person == JANE


async def test_requester_not_allowed_is_told_at_immy(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.slack_e2e.conftest import world_of

    async with world_of(tmp_path_factory.mktemp("requesters"), requesters="U0DAVE") as restricted:
        alice = restricted.ws.requester
        delivery = await restricted.driver.slash(alice, restricted.ws.ops_channel, "")
        assert delivery.status == 200
        await restricted.fake.wait_until(lambda: restricted.fake.response_urls and any(
            h.posts for h in restricted.fake.response_urls.values()))
        assert restricted.fake.latest_view(alice) is None
        posted = [p for h in restricted.fake.response_urls.values() for p in h.posts]
        assert any("not allowed" in str(p) for p in posted)
