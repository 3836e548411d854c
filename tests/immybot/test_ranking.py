"""The typeahead's ranking rules (`bot.immybot.ranking`), one by one, through the catalog's searches."""

from __future__ import annotations

import pytest

from bot.immybot.catalog import CatalogCache
from bot.immybot.models import ComputerRow, SoftwareItem
from bot.immybot.ranking import typo_budget
from bot.workflow.model import Catalog

NAMES = (
    "Google Chrome", "Google Chrome Enterprise", "Chrome Remote Desktop Host", "Mozilla Firefox", "Git",
    "GitHub Desktop", "Legit Tool", "Zoomit", "Zoom Workplace", "Report", "Portal Client", "7-Zip", "WinZip",
    "Notepad", "Notepad++", "Adobe Acrobat Reader DC", "Adobe Acrobat DC", "PDF24 Creator", "Dell PDF Editor 2024",
    "Microsoft Visual C++ 2015-2022 Redistributable (x64)", "Microsoft Visual C++ 2015-2022 Redistributable (x86)",
    "Microsoft Visual C++ 2013 Redistributable (x64)", "Veeam Editor", "Adobe Editor", "Cisco Secure Client",
)  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> CatalogCache:
    software = [SoftwareItem(id=i, name=n, catalog=Catalog.GLOBAL) for i, n in enumerate(NAMES, 1)]
    computers = [ComputerRow(id=i, name=n, tenant_name=t) for i, (n, t) in enumerate([
        ("CONTOSO-LT-0042", "Contoso Ltd"), ("CONTOSO-LT-0043", "Contoso Ltd"), ("CONTOSO-LT-0142", "Contoso Ltd"),
        ("FOURTH-LT-0042", "Fourth Coffee"), ("DESKTOP-7H2K9QX", "Fabrikam Inc"), ("WS-001", "Fabrikam Inc"),
        ("JDOE-LT", "Contoso Ltd"), ("ESMITH-LT", "Trey Research"),
    ], 1)]  # fmt: skip
    return CatalogCache.from_rows(software, computers)


def names(catalog: CatalogCache, query: str, limit: int = 100) -> list[str]:
    return [s.name for s in catalog.search_software(query, limit)]


def test_a_whole_word_beats_a_longer_name_that_contains_the_letters(catalog: CatalogCache) -> None:
    assert names(catalog, "git") == ["Git", "GitHub Desktop", "Legit Tool"]
    assert names(catalog, "zoom")[:2] == ["Zoom Workplace", "Zoomit"]  # whole word before the shorter prefix
    assert names(catalog, "chrome") == ["Google Chrome", "Google Chrome Enterprise", "Chrome Remote Desktop Host"]


def test_word_starts_beat_inner_substrings(catalog: CatalogCache) -> None:
    assert names(catalog, "port") == ["Portal Client", "Report"]  # "Report" is shorter, but holds it inside
    assert names(catalog, "zip") == ["7-Zip", "WinZip"]


def test_multi_word_queries_match_their_words_in_any_order(catalog: CatalogCache) -> None:
    assert names(catalog, "chrome google")[:2] == ["Google Chrome", "Google Chrome Enterprise"]
    assert names(catalog, "reader acrobat")[0] == "Adobe Acrobat Reader DC"
    assert names(catalog, "c++ 2015 x86")[0] == "Microsoft Visual C++ 2015-2022 Redistributable (x86)"
    assert names(catalog, "2013 redistributable") == ["Microsoft Visual C++ 2013 Redistributable (x64)"]
    assert names(catalog, "chrome mozilla") == []  # every word must match


@pytest.mark.parametrize("query", ["7zip", "7 zip", "7-ZIP", "  7 -  zip ", "7_zip"])
def test_punctuation_and_spacing_do_not_matter(catalog: CatalogCache, query: str) -> None:
    assert names(catalog, query)[0] == "7-Zip"


def test_the_name_as_typed_comes_first_among_equal_words(catalog: CatalogCache) -> None:
    assert names(catalog, "notepad++")[:2] == ["Notepad++", "Notepad"]
    assert names(catalog, "Notepad")[:2] == ["Notepad", "Notepad++"]
    assert names(catalog, "notepad ++")[0] == "Notepad++"


def test_words_next_to_each_other_beat_words_apart(catalog: CatalogCache) -> None:
    assert names(catalog, "pdf 24")[0] == "PDF24 Creator"
    assert names(catalog, "e e")[0] == "Adobe Editor"  # "ee" inside "Veeam" is no phrase
    top = catalog.search_computers("e-lt")[0]
    assert top.name == "JDOE-LT"  # "ESMITH-LT" has a word starting with e, but not next to "lt"


@pytest.mark.parametrize(("query", "expected"), [
    ("gogle chrome", "Google Chrome"), ("chrmoe", "Google Chrome"), ("firefx", "Mozilla Firefox"),
    ("mozila firefox", "Mozilla Firefox"), ("acrobt reader", "Adobe Acrobat Reader DC"), ("chrme", "Google Chrome"),
])  # fmt: skip
def test_a_typo_of_one_or_two_letters_still_finds_it(catalog: CatalogCache, query: str, expected: str) -> None:
    assert names(catalog, query)[0] == expected


def test_typo_budgets_grow_with_the_word() -> None:
    words = ("c", "git", "zoom", "gogle", "chrmoe", "redistributible", "2013", "0042", "7h2k9qx")
    assert [typo_budget(w) for w in words] == [0, 0, 1, 1, 2, 2, 0, 0, 2]


def test_punctuation_alone_finds_the_names_holding_it(catalog: CatalogCache) -> None:
    assert names(catalog, "|") == [] and names(catalog, "++")[0] == "Notepad++" and len(names(catalog, "++")) == 4
    assert names(catalog, "(")[0] == "Microsoft Visual C++ 2013 Redistributable (x64)"  # shortest first


@pytest.mark.parametrize("query", ["qqqq", "xyz", "chx", "zzzzzz", "--", "+-", "Ωmega"])
def test_an_option_that_matches_in_no_way_is_never_offered(catalog: CatalogCache, query: str) -> None:
    assert names(catalog, query) == [] and catalog.search_computers(query) == []


def test_computers_by_name_in_any_form_then_by_tenant(catalog: CatalogCache) -> None:
    assert [c.name for c in catalog.search_computers("contoso-lt-0042")] == ["CONTOSO-LT-0042"]
    assert [c.name for c in catalog.search_computers("contso-lt-0042")] == ["CONTOSO-LT-0042"]  # not FOURTH
    assert catalog.search_computers("contosolt0042")[0].name == "CONTOSO-LT-0042"
    assert catalog.search_computers("0042 contoso")[0].name == "CONTOSO-LT-0042"
    assert [c.name for c in catalog.search_computers("7h2k9qx")] == ["DESKTOP-7H2K9QX"]
    fabrikam = [c.name for c in catalog.search_computers("fabrikam")]
    assert fabrikam == ["WS-001", "DESKTOP-7H2K9QX"]  # no name matches: the tenant's computers, shown with it


def test_a_one_word_query_that_fills_the_limit_early_ranks_as_if_every_probe_ran() -> None:
    """Whole words, then word starts, then inner matches: with 30 names of each, a limit of 10 or 40
    stops after the first or second probe and must give the first names of the full ranking."""
    from bot.immybot.ranking import ranked_search
    from bot.immybot.search_index import SearchIndex

    names = [f"Chr {n:02d}" for n in range(30)] + [f"Chrome {n:02d}" for n in range(30)]
    names += [f"Xchr {n:02d}" for n in range(30)] + ["chr", "Chr!", "CHR"]
    index = SearchIndex(names)
    shown = [names[i] for i in index.order]
    for query in ("chr", "CHR", "Chr"):
        everything = ranked_search(index, query, 1000, shown)
        assert len(everything) == len(names)
        assert {shown[p] for p in everything[:2]} == {"chr", "CHR"}  # the name as typed, exactly
        for limit in (1, 10, 33, 40, 63, 70):
            assert ranked_search(index, query, limit, shown) == everything[:limit]
            assert ranked_search(index, query, limit) == ranked_search(index, query, 1000)[:limit]


def test_a_word_typed_across_two_words_of_a_name_still_finds_it() -> None:
    """Punctuation and spacing do not matter: "kam" is in "Tanaka-MBP" ("tanakambp"), after the names
    that hold it as typed; with a scope that leaves only such a name, it is still offered."""
    from bot.immybot.ranking import ranked_search
    from bot.immybot.search_index import SearchIndex

    names = ["ATANAKA-MBP", "Fabrikam Laptop", "Contoso PC"]
    index = SearchIndex(names)
    shown = [names[i] for i in index.order]
    assert [shown[p] for p in ranked_search(index, "kam", 10, shown)] == ["Fabrikam Laptop", "ATANAKA-MBP"]
    in_scope = {p for p, name in enumerate(shown) if name != "Fabrikam Laptop"}
    assert [shown[p] for p in ranked_search(index, "kam-", 10, shown, in_scope.__contains__)] == ["ATANAKA-MBP"]
    assert ranked_search(index, "kmb", 10, shown) == []  # nothing holds these letters in a row
