"""Issue 16: the typeahead's reused answers, over HTTP against the fakes, with a POLICY_FILE.

An options load is answered at the HTTP door, and its encoded answer is reused per (field, query,
scope) while the catalog stays the same. Here: a scoped technician never gets an answer rendered
for someone with other tenants (in either order), the gates still run on every load, a catalog
refresh shows what changed at once, and the same load through Bolt (a body the door leaves to
`urllib`) answers the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio

from bot.slack.requests import ids
from immybot_slack_sandbox import slack_payloads as p
from tests.slack_e2e.conftest import JANE, World, world_of
from tests.slack_e2e.flows import open_modal

pytestmark = pytest.mark.asyncio(loop_scope="module")

POLICY = """\
scopes:
  - members: [U0ALICE]
    tenants: [contoso ltd]
  - members: [S0FABTECHS]
    tenants: [Fabrikam Inc]
  - members: [S0APPROVERS]
    tenants: ["*"]
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder = tmp_path_factory.mktemp("typeahead-answers")
    (folder / "policy.yml").write_text(POLICY)
    async with world_of(folder, policy_file=folder / "policy.yml") as built:
        built.fake.add_group("S0FABTECHS", "fabrikam-techs", [JANE])
        yield built


def _tenants(world: World, options: list[dict]) -> set[str]:
    tenant_of = {str(c["id"]): c["tenantName"] for c in world.immy.immybot.data.computers}
    return {tenant_of[o["value"]] for o in options}


async def test_a_scoped_technician_never_gets_an_answer_rendered_for_another_scope(world: World) -> None:
    view = await open_modal(world, world.ws.requester)
    bob, alice = world.ws.approver, world.ws.requester  # bob: every tenant (S0APPROVERS); alice: Contoso
    everyone = await world.driver.suggest(bob, view, ids.COMPUTERS_ACTION, "o")  # cached first, for every tenant
    assert len(_tenants(world, everyone)) > 2
    assert _tenants(world, await world.driver.suggest(alice, view, ids.COMPUTERS_ACTION, "o")) == {"Contoso Ltd"}
    assert _tenants(world, await world.driver.suggest(JANE, view, ids.COMPUTERS_ACTION, "o")) == {"Fabrikam Inc"}
    # the other way round: the scoped answer first, then the one for every tenant
    fabrikam = await world.driver.suggest(JANE, view, ids.COMPUTERS_ACTION, "in")
    assert _tenants(world, fabrikam) == {"Fabrikam Inc"}
    assert len(_tenants(world, await world.driver.suggest(bob, view, ids.COMPUTERS_ACTION, "in"))) > 1
    # carol is in no scope: nothing, even for a query whose answer is cached for others
    assert await world.driver.suggest(world.ws.other, view, ids.COMPUTERS_ACTION, "o") == []


async def test_a_repeated_query_is_answered_without_searching_again(world: World, searched: list[str]) -> None:
    view = await open_modal(world, world.ws.requester)
    first = await world.driver.suggest(world.ws.requester, view, ids.SOFTWARE_ACTION, "contoso")
    again = await world.driver.suggest(world.ws.requester, view, ids.SOFTWARE_ACTION, "contoso")
    assert first and again == first
    assert searched == ["contoso"]
    # the gate runs on every load, cached answer or not
    assert await world.driver.suggest(world.ws.other, view, ids.SOFTWARE_ACTION, "contoso") == []


async def test_a_catalog_refresh_shows_what_changed_at_once(world: World) -> None:
    view = await open_modal(world, world.ws.requester)
    alice, data = world.ws.requester, world.immy.immybot.data
    before = await world.driver.suggest(alice, view, ids.COMPUTERS_ACTION, "zz-new")
    software_before = await world.driver.suggest(alice, view, ids.SOFTWARE_ACTION, "zzfresh")
    assert before == [] and software_before == []
    contoso = next(c for c in data.computers if c["tenantName"] == "Contoso Ltd")
    data.computers.append({**contoso, "id": 9101, "computerName": "ZZ-NEW-0001"})
    data.global_software.append({**data.global_software[0], "id": 9102, "name": "ZZFresh Editor"})
    await world.bot.services.catalog.load()  # what the background refresh does
    after = await world.driver.suggest(alice, view, ids.COMPUTERS_ACTION, "zz-new")
    assert [o["value"] for o in after] == ["9101"]
    software_after = await world.driver.suggest(alice, view, ids.SOFTWARE_ACTION, "zzfresh")
    assert [o["value"] for o in software_after] == ["Global:9102"]


async def test_bolts_way_and_the_door_answer_the_same(world: World) -> None:
    """A body the door's decoder leaves to `urllib` (a second form field) gets the same answer through
    Bolt; escapes in lower case hex are decoded by both; a malformed load is still a 400."""
    alice = world.ws.requester
    record = await open_modal(world, alice)
    expected = await world.driver.suggest(alice, record, ids.SOFTWARE_ACTION, "chrome")
    assert expected
    payload = {**p.base(world.fake), "type": "block_suggestion", "user": p.user_ref(world.fake, alice),
               "container": {"type": "view", "view_id": record.id}, "action_id": ids.SOFTWARE_ACTION,
               "block_id": ids.SOFTWARE_BLOCK, "value": "chrome",
               "view": record.to_api(team_id=world.fake.team_id, app_id=world.fake.app_id, bot_id=world.fake.bot_id)}
    encoded = re.sub("%[0-9A-F]{2}", lambda escape: escape[0].lower(), quote(json.dumps(payload), safe=""))
    for body in (f"payload={encoded}", f"payload={encoded}&extra=1"):
        status, answer = await _post(world, body)
        assert status == 200 and json.loads(answer)["options"] == expected
    status, _ = await _post(world, "payload=" + quote(json.dumps({**payload, "action_id": ""})))
    assert status == 400  # malformed: refused at the door, as before


async def _post(world: World, body: str) -> tuple[int, bytes]:
    headers = {"content-type": "application/x-www-form-urlencoded", **world.driver.signed_headers(body)}
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(world.bot.url + "/slack/events", content=body.encode(), headers=headers)
    return response.status_code, response.content
