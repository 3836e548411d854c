"""The catalog's cold start over real HTTP against the fake ImmyBot: pages fetched ahead, partial
answers while loading, clean failures, refreshes that swap complete tables only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.immybot.catalog import CatalogCache
from bot.immybot.client import ImmyBotClient
from bot.immybot.errors import ImmyUnavailable
from immybot_slack_sandbox.immy_faults import Fault
from immybot_slack_sandbox.immy_sandbox import ImmySandbox
from tests.immybot.test_catalog import wait_for

DX = "/api/v1/computers/dx"


@pytest.fixture
async def paging_client(immy_settings: Any, fast_retry: Any) -> AsyncIterator[ImmyBotClient]:
    async with ImmyBotClient(immy_settings, retry=fast_retry, dx_page_size=5, dx_concurrency=3) as client:
        yield client


async def test_software_first_then_computers_page_by_page(immy: ImmySandbox, paging_client: ImmyBotClient) -> None:
    immy.immybot.faults.latency(0.05, DX)  # 12 pages of 5, three in flight: ~0.25 s of computers
    catalog = CatalogCache(paging_client)
    seen: list[tuple[bool, int, int, bool]] = []  # (loaded, software found, computers held, computers found)
    loading = asyncio.create_task(catalog.load())
    while not loading.done():
        seen.append((catalog.loaded, len(catalog.search_software("chrome")), catalog.sizes["computers"],
                     bool(catalog.search_computers("contoso-lt-000"))))  # fmt: skip
        await asyncio.sleep(0.005)
    await loading
    partial = [s for s in seen if not s[0] and 0 < s[2] < 60]
    assert partial and any(found for *_, found in partial)  # the typeahead answered from what had arrived
    assert any(not loaded and software for loaded, software, *_ in seen)  # software before the load is done
    # never "loaded" while the fleet is partial (the last samples may see the finished load before the task ends)
    assert not any(loaded for loaded, _, held, _ in seen if held < 60)
    assert catalog.loaded and catalog.sizes["computers"] == 60
    assert all(catalog.computer_by_id(c["id"]) for c in immy.immybot.data.computers)  # 60 rows, so each once
    skips = [int(r.query["skip"]) for r in immy.immybot.requests_to(DX)]
    assert len(skips) == len(set(skips)) and set(range(0, 60, 5)) <= set(skips)
    assert all("requireTotalCount" not in r.query for r in immy.immybot.requests_to(DX))
    assert max(skips) <= 60 + 3 * 5  # stopped at the short (empty) page: at most the window past it


async def test_every_computer_once_with_a_page_retried(immy: ImmySandbox, paging_client: ImmyBotClient) -> None:
    immy.immybot.faults.on_call(DX, 4, Fault.server_error())
    immy.immybot.faults.on_call(DX, 6, Fault.rate_limited(retry_after="0"))
    catalog = CatalogCache(paging_client)
    await catalog.load()
    everyone = [c["id"] for c in immy.immybot.data.computers]
    found = [catalog.computer_by_id(i) for i in everyone]
    assert all(found) and catalog.sizes["computers"] == len(everyone) == 60
    assert catalog.search_computers("CONTOSO-LT-0005")[0].id == 5


async def test_a_page_that_keeps_failing_fails_the_first_load_cleanly(
    immy: ImmySandbox, paging_client: ImmyBotClient
) -> None:
    immy.immybot.faults.latency(0.05, DX)
    catalog = CatalogCache(paging_client)
    loading = asyncio.create_task(catalog.load())
    await wait_for(lambda: catalog.sizes["computers"] > 0)
    immy.immybot.faults.always(DX, Fault.server_error())
    with pytest.raises(ImmyUnavailable):
        await loading
    assert not catalog.loaded
    assert catalog.sizes["computers"] == 0 and catalog.search_computers("contoso") == []  # no half fleet left
    assert catalog.search_software("google chrome")[0].key == "Global:714"  # the software is complete: kept
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith(("dx-page", "catalog-"))]
    immy.immybot.faults.clear()
    await catalog.load()
    assert catalog.loaded and catalog.sizes["computers"] == 60


async def test_a_refresh_swaps_complete_tables_only(immy: ImmySandbox, paging_client: ImmyBotClient) -> None:
    catalog = CatalogCache(paging_client)
    await catalog.load()
    immy.immybot.data.computers.append({**immy.immybot.data.computers[0], "id": 9001, "computerName": "NEW-PC-1"})
    immy.immybot.faults.latency(0.03, DX)
    refreshing = asyncio.create_task(catalog.load())
    sizes: set[int] = set()
    while not refreshing.done():
        sizes.add(catalog.sizes["computers"])
        await asyncio.sleep(0.005)
    await refreshing
    assert sizes <= {60, 61} and catalog.sizes["computers"] == 61  # never a partial fleet during a refresh
    assert catalog.search_computers("new-pc-1")[0].id == 9001


async def test_a_failing_software_list_fails_the_load_at_once(immy: ImmySandbox, paging_client: ImmyBotClient) -> None:
    immy.immybot.faults.latency(0.05, DX)
    immy.immybot.faults.always("/api/v1/software/local", Fault.server_error())
    catalog = CatalogCache(paging_client)
    with pytest.raises(ImmyUnavailable, match="software/local"):
        await catalog.load()
    assert len(immy.immybot.requests_to(DX)) < 12  # the computer pages stopped with it, not paged to the end
    assert not catalog.loaded and catalog.sizes["computers"] == 0
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith(("dx-page", "catalog-"))]


async def test_a_row_shifted_onto_the_next_page_is_kept_once(immy: ImmySandbox, paging_client: ImmyBotClient) -> None:
    """Offset paging over a fleet that changes meanwhile: a computer added at the front pushes the
    last row of each page onto the next one, where it arrives a second time."""
    immy.immybot.faults.latency(0.05, DX)
    originals = [c["id"] for c in immy.immybot.data.computers]
    catalog = CatalogCache(paging_client)
    loading = asyncio.create_task(catalog.load())
    await wait_for(lambda: catalog.sizes["computers"] > 0)
    immy.immybot.data.computers.insert(0, {**immy.immybot.data.computers[0], "id": 9002, "computerName": "NEW-PC-2"})
    await loading
    assert catalog.sizes["computers"] == len(originals) == 60  # the repeated row once; the new one comes next time
    assert all(catalog.computer_by_id(i) for i in originals)
    rows = await paging_client.list_computers()
    assert sorted(r.id for r in rows) == sorted([*originals, 9002])
