"""One unusable row is skipped and counted, never failing its list (SPEC §5, issue 9); ImmyBot's nulls
(`sessions`, `maintenanceActions`, a software's `name`) are read as the OpenAPI document allows."""

from __future__ import annotations

import json

from bot import metrics
from bot.immybot.client import ImmyBotClient
from bot.workflow.model import Catalog
from immybot_slack_sandbox.immy_sandbox import ImmySandbox


def _skipped(route: str) -> float:
    value = metrics.REGISTRY.get_sample_value("immybot_slack_immybot_rows_skipped_total", {"route": route})
    return value or 0.0


async def test_a_software_item_with_a_null_id_is_skipped_and_counted(
    immy: ImmySandbox, immy_client: ImmyBotClient
) -> None:
    software = immy.immybot.data.global_software
    software[0]["id"] = None
    software[1]["name"] = None
    before = _skipped("/api/v1/software/global")
    items = await immy_client.list_software(Catalog.GLOBAL)
    assert len(items) == len(software) - 1
    assert any(item.name == f"(unnamed, id {software[1]['id']})" for item in items)  # a null name is labelled
    assert _skipped("/api/v1/software/global") == before + 1


async def test_a_computer_without_an_id_is_skipped_and_paging_goes_on(
    immy: ImmySandbox, immy_settings: object, fast_retry: object
) -> None:
    computers = immy.immybot.data.computers
    computers[3]["id"] = None
    before = _skipped("/api/v1/computers/dx")
    async with ImmyBotClient(immy_settings, retry=fast_retry, dx_page_size=10) as client:  # type: ignore[arg-type]
        rows = await client.list_computers()
    assert len(rows) == len(computers) - 1  # the short first page (9 usable rows) did not end the paging
    assert _skipped("/api/v1/computers/dx") == before + 1


async def test_null_lists_from_immybot_are_empty(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    detail = await immy_client.get_computer(1)
    assert detail.sessions == [] and detail.name
    run = await immy_client.list_software(Catalog.LOCAL)
    assert run


def test_slim_loading_reads_rows_exactly_as_plain_json_does() -> None:
    """ImmyBot sends every property of a row; the client's decoder keeps only the keys a row is read from
    (field names and aliases), which must not change a single row that is read or skipped."""
    from bot.immybot.client import _ROWS, _SOFTWARE

    software = [
        {"id": 1, "name": "Google Chrome", "softwareTableName": None, "notes": "x" * 500, "iconMediaId": None},
        {"id": None, "name": "no id"},
        {"name": "id absent", "licenseType": 2},
        {"id": 3, "name": None, "nested": {"id": 9, "secret": "kept out"}},
    ]
    computers = {"data": [{"id": 7, "computerName": "PC-7", "tenantId": 2, "tenantName": "Contoso",
                           "isOnline": None, "primaryUserEmail": "a@contoso.com", "serialNumber": "S"},
                          {"computerName": "no id at all"}], "totalCount": -1}
    for rows, body in ((_SOFTWARE, software), (_ROWS, computers["data"])):
        content = json.dumps(body).encode()
        assert rows.parse(rows.json_loads(content), "GET x") == rows.parse(json.loads(content), "GET x")
    slim = _SOFTWARE.json_loads(json.dumps(software).encode())
    assert slim[0] == {"id": 1, "name": "Google Chrome"} and slim[2] == software[2]  # no id: kept whole
    assert _ROWS.json_loads(json.dumps(computers).encode())["totalCount"] == -1  # the envelope is untouched
