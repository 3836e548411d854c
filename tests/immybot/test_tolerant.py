"""One unusable row is skipped and counted, never failing its list (SPEC §5, issue 9); ImmyBot's nulls
(`sessions`, `maintenanceActions`, a software's `name`) are read as the OpenAPI document allows."""

from __future__ import annotations

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
