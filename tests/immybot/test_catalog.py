"""The cached catalogs: loading over HTTP, background refresh, and typeahead ranking."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.immybot.catalog import CatalogCache
from bot.immybot.client import ImmyBotClient
from bot.immybot.models import ComputerRow, SoftwareItem
from bot.immybot.search_index import normalise, words
from bot.workflow.model import Catalog
from immybot_slack_sandbox.immy_faults import Fault
from immybot_slack_sandbox.immy_sandbox import ImmySandbox

G, L = Catalog.GLOBAL, Catalog.LOCAL


async def wait_for(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def software_catalog() -> CatalogCache:
    names = [
        (G, 714, "Google Chrome"), (G, 3, "Mozilla Firefox"), (L, 3, "Contoso VPN Client"),
        (G, 10, "Chrome Remote Desktop"), (G, 11, "Google Chrome Enterprise"), (L, 12, "Chrome"),
        (G, 13, "Microsoft Teams"), (G, 14, "Zoom Workplace"), (G, 15, "Adobe Acrobat Reader DC"),
    ]  # fmt: skip
    return CatalogCache.from_rows([SoftwareItem(id=i, name=n, catalog=c) for c, i, n in names], [])


def test_exact_name_then_whole_words_shorter_first() -> None:
    catalog = software_catalog()
    assert [s.name for s in catalog.search_software("chrome")] == [
        "Chrome",  # the exact name
        "Google Chrome",  # the whole word, shorter
        "Chrome Remote Desktop",
        "Google Chrome Enterprise",
    ]
    assert [s.key for s in catalog.search_software("CHROME", limit=2)] == ["Local:12", "Global:714"]


def test_from_the_first_character_and_case_insensitive() -> None:
    catalog = software_catalog()
    first = catalog.search_software("z")
    assert first[0].name == "Zoom Workplace"
    assert {s.name for s in first} >= {"Zoom Workplace", "Mozilla Firefox"}
    assert len(catalog.search_software("", limit=5)) == 5


def test_fuzzy_matches_follow_substring_matches() -> None:
    catalog = software_catalog()
    assert catalog.search_software("chrme")[0].name in ("Chrome", "Google Chrome")
    assert catalog.search_software("firefx")[0].name == "Mozilla Firefox"
    assert catalog.search_software("qqqq") == []


def test_results_carry_catalog_and_id() -> None:
    catalog = software_catalog()
    both = catalog.search_software("contoso vpn") + catalog.search_software("firefox")
    assert [(s.catalog, s.id) for s in both[:1]] == [(L, 3)]
    assert catalog.software_by_key("Local:3").name == "Contoso VPN Client"
    assert catalog.software_by_key("Global:3").name == "Mozilla Firefox"
    assert catalog.software_by_key("Global:999") is None
    assert catalog.software_by_key("Local:3").to_software().catalog.maintenance_type == "LocalSoftware"


def test_computer_search_matches_names_then_tenants_and_respects_limit() -> None:
    rows = [ComputerRow(id=i, name=f"WS-{i:03d}", tenant_name="Fabrikam Inc", online=True) for i in range(1, 150)]
    rows += [ComputerRow(id=500, name="FAB-LAPTOP", tenant_name="Contoso Ltd", online=False)]
    catalog = CatalogCache.from_rows([], rows)
    found = catalog.search_computers("fab", limit=100)
    assert found[0].name == "FAB-LAPTOP" and len(found) == 100  # name match, then Fabrikam's computers
    assert [c.name for c in catalog.search_computers("ws-14")][:10] == [f"WS-{i}" for i in range(140, 150)]
    assert len(catalog.search_computers("w", limit=7)) == 7
    assert catalog.computer_by_id(500).tenant_name == "Contoso Ltd"


async def test_load_over_http_and_background_refresh(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    catalog = CatalogCache(immy_client)
    assert not catalog.loaded and catalog.age_seconds is None
    await catalog.load()
    sizes = catalog.sizes
    assert sizes == {"global_software": 61, "local_software": 12, "computers": 60}
    assert catalog.search_software("google chrome")[0].key == "Global:714"
    assert catalog.computers_by_email("JANE.DOE@contoso.com")
    immy.immybot.data.local_software.append({"id": 999, "name": "Freshly Packaged App", "softwareType": 1})
    catalog.start_refresh(0.05)
    try:
        await wait_for(lambda: catalog.software_by_key("Local:999") is not None)
        assert catalog.search_software("freshly")[0].id == 999
        immy.immybot.faults.always("/api/v1/computers/dx", Fault.server_error())
        calls = len(immy.immybot.requests_to("/api/v1/computers/dx"))
        await wait_for(lambda: len(immy.immybot.requests_to("/api/v1/computers/dx")) >= calls + 8)
        assert catalog.sizes["computers"] == 60  # a failed refresh keeps the old data
        assert catalog.search_computers("contoso-lt-0001")[0].id == 1
    finally:
        await catalog.stop()
    assert catalog.age_seconds is not None and catalog.age_seconds >= 0


def test_every_fragment_of_a_real_name_is_found_first() -> None:
    """The typeahead benchmark's "empty answers": every 2–5 character slice of a real name (spaces,
    `-`, `+`, `(`, `.`, digits, any case) must come back, a name containing it first. The empties it
    once reported were slices of names with their punctuation removed (`"lt0"` of `CONTOSO-LT-0001`),
    which no name contains."""
    import random

    from immybot_slack_sandbox.immy_data import generate

    data = generate(7, computers=3000, global_software=1500, local_software=150, tenants=30)
    software = [SoftwareItem(id=s["id"], name=s["name"], catalog=G) for s in data.global_software]
    software += [SoftwareItem(id=s["id"], name=s["name"], catalog=L) for s in data.local_software]
    computers = [ComputerRow(id=c["id"], name=c["computerName"], tenant_name=c["tenantName"], online=c["isOnline"])
                 for c in data.computers]
    catalog = CatalogCache.from_rows(software, computers)
    rng = random.Random(3)
    kinds: list[tuple[Callable[[str, int], list], list[str]]] = [
        (catalog.search_software, [s.name for s in software]),
        (catalog.search_computers, [c.name for c in computers]),
    ]
    for search, names in kinds:
        for _ in range(1500):
            name = rng.choice(names)
            size = rng.randint(2, min(5, len(name)))
            start = rng.randint(0, len(name) - size)
            fragment = name[start : start + size]
            for query in (fragment, fragment.upper(), fragment.lower()):
                found = search(query.strip(), 100) if query.strip() else None
                if found is None:
                    continue
                if not words(query):  # punctuation alone ("(", " -"): the names holding it
                    assert found and " ".join(query.lower().split()) in found[0].name.lower(), query
                    continue
                assert 0 < len(found) <= 100, query
                phrase = " ".join(words(query))  # punctuation and spacing do not matter
                assert phrase in normalise(found[0].name) or phrase.replace(" ", "") in "".join(
                    words(found[0].name)), (query, found[0].name)


def _brute_force(names: list[str], fragment: str, limit: int) -> list[int]:
    """`containing` spelled out: the keys holding the fragment, shortest first, then alphabetical,
    then input order."""
    keys = [normalise(n) for n in names]
    ranked = sorted(range(len(names)), key=lambda i: (len(keys[i]), keys[i], i))
    return [i for i in ranked if fragment in keys[i]][:limit]


def test_common_grams_past_their_kept_positions_are_still_found() -> None:
    """A gram on more than WALK_MAX names keeps only its first positions; matches after them come
    from a scan of the text, in rank order, with nothing lost or repeated."""
    names = [f"abc{i:04d}" for i in range(1300)] + [f"zbcy{i:04d}" for i in range(1300)]
    names += [f"qz{i:04d}" for i in range(1100)] + [f"x-qz-{i}" for i in range(30)]
    names += ["zz-abcy-1", "zz-abcy-22", "long name with abcy in it", "Ab Cy", "ab  cy"]
    catalog = CatalogCache.from_rows([], [ComputerRow(id=i, name=n) for i, n in enumerate(names)])
    index = catalog._snapshot.computers.index
    for fragment, limit in (("abcy", 100), ("qz", 2000), (" qz", 1105), ("bc", 3000), (" abc", 5), ("ab cy", 10),
                            ("c", 4000), (" ", 50), ("y0", 40), ("zbcy0", 7), (" qz ", 40), ("1 ", 3)):
        expected = _brute_force(names, fragment, limit)
        assert [index.order[p] for p in index.containing(fragment, limit)] == expected, (fragment, limit)


def test_rows_carry_what_the_bot_reads_and_lookups_are_exact() -> None:
    rows = [
        ComputerRow(id=7, name="PC-7", tenant_id=3, tenant_name="Contoso Ltd", online=True,
                    primary_user_email="Jane.Doe@Contoso.com", last_seen="2026-03-01T00:00:00Z"),
        ComputerRow(id=8, name="PC-8", tenant_id=None, tenant_name=None, online=None, primary_user_email=None),
        ComputerRow(id=9, name="PC-9", tenant_id=3, tenant_name="Contoso Ltd", online=False,
                    primary_user_email="jane.doe@contoso.com "),
    ]
    catalog = CatalogCache.from_rows([SoftwareItem(id=714, name="Google Chrome", catalog=G)], rows)
    seven = catalog.computer_by_id(7)
    assert seven is not None
    assert (seven.id, seven.name, seven.tenant_id, seven.tenant_name, seven.online, seven.primary_user_email) == (
        7, "PC-7", 3, "Contoso Ltd", True, "Jane.Doe@Contoso.com")
    eight = catalog.computer_by_id(8)
    assert eight is not None and (eight.tenant_name, eight.online, eight.primary_user_email) == (None, None, None)
    assert catalog.computer_by_id(10) is None
    assert [c.id for c in catalog.computers_by_email(" JANE.DOE@contoso.COM")] == [7, 9]
    assert catalog.computers_by_email("nobody@contoso.com") == []
    assert seven.to_computer().name == "PC-7"
    assert catalog.software_by_key("Global:714") is not None
    for key in ("Global:0714", "Local:714", "Global:", "Global", "Bogus:714", ":714", "Global:7a"):
        assert catalog.software_by_key(key) is None, key
    assert catalog.sizes == {"global_software": 1, "local_software": 0, "computers": 3}


def test_a_load_keeps_no_parsed_row() -> None:
    """The tables copy the fields they need and drop the rows they were given (`consume`)."""
    import gc
    import weakref

    from bot.immybot.catalog_rows import ComputerTable, SoftwareTable

    class Row:
        def __init__(self, i: int) -> None:
            self.id, self.name, self.catalog = i, f"Item {i}", G
            self.tenant_id, self.tenant_name, self.online, self.primary_user_email = 1, "T", True, f"u{i}@x.com"

    rows = [Row(i) for i in range(50)]
    refs = [weakref.ref(r) for r in rows]
    software_rows: list = list(rows)
    computer_rows: list = list(rows)
    del rows
    software, computers = SoftwareTable(software_rows, consume=True), ComputerTable(computer_rows, consume=True)
    assert software_rows == [] and computer_rows == []
    gc.collect()
    assert all(ref() is None for ref in refs)
    assert computers.with_email("U3@X.com")[0].name == "Item 3" and software.rows([0])[0].name == "Item 0"
