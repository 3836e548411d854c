"""The cached software catalogs and computer list that every Slack typeahead searches.

    catalog = CatalogCache(client)
    await catalog.load()                      # global + local software and ALL computers, in parallel
    catalog.start_refresh(15 * 60)            # background refresh; errors logged, old data kept
    catalog.search_software("chr")            # in memory, never waits for ImmyBot
    await catalog.stop()

Every index is built in a worker thread and swapped in with one assignment, so a search never
waits for a build and sees either the old table or the new one, never a mix. The first load serves
what it has as it arrives: the software as soon as both catalogs are in, the computers page by
page (tables of growing size, each built while the next pages are fetched). A refresh keeps
serving the previous complete tables until the new ones are complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.immybot.catalog_rows import ComputerColumns, ComputerLike, ComputerTable, SoftwareLike, SoftwareTable
from bot.immybot.models import AnyComputerRow, CachedComputer, CachedSoftware, ComputerRow, SoftwareItem
from bot.immybot.ranking import ranked_search
from bot.workflow.model import Catalog
from bot.workflow.rules import Tenants

log = logging.getLogger(__name__)

_CATALOGS = {catalog.value: catalog for catalog in Catalog}


def release_memory() -> None:
    """Hand the heap pages a build freed back to the OS (glibc's `malloc_trim`; elsewhere a no-op).

    A load parses ~70,000 rows and builds the index from small temporaries; CPython frees them, but
    glibc keeps freed pages mapped unless asked. Takes a few milliseconds; run it off the event loop."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).malloc_trim(0)  # the process's own symbols: glibc's, when it is glibc


_startup_frozen = False


def freeze_startup_heap() -> None:
    """Once per process, before the first load: move what is alive (modules, the app, settings) out
    of the cyclic collector's scans (`gc.freeze`). A load allocates enough to set off full
    collections, and each one walked all of it while holding the GIL: ~60–100 ms in which no
    keystroke was answered. They are long-lived anyway; refcounting still frees them."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.freeze()


# A first load serves partial tables until they reach this size: a larger one would still be held while
# the final table is built (two big tables at once: the load's peak memory), and the first answers
# (the goal: within seconds) come from the small ones.
PARTIAL_ROWS_MAX = 16_000

class CatalogSource(Protocol):
    async def list_software(self, catalog: Catalog) -> list[SoftwareItem]: ...

    async def list_computers(self) -> list[ComputerRow]: ...

    def computer_pages(self) -> AsyncIterator[list[ComputerRow]]: ...

    async def computers_for_email(
        self, email: str, *, fallback: Iterable[ComputerRow] | None = None
    ) -> list[ComputerRow]: ...


_EMPTY_SOFTWARE = SoftwareTable([])
_EMPTY_COMPUTERS = ComputerTable([])


@dataclass(frozen=True)
class _Snapshot:
    software: SoftwareTable = _EMPTY_SOFTWARE
    computers: ComputerTable = _EMPTY_COMPUTERS
    loaded_at: float | None = None  # when the last complete load finished; None: none has yet
    partial: bool = False  # `computers` is what a first load has so far

    @property
    def sizes(self) -> dict[str, int]:
        return {
            "global_software": self.software.count(Catalog.GLOBAL),
            "local_software": self.software.count(Catalog.LOCAL),
            "computers": len(self.computers),
        }


async def _one_page(source: CatalogSource) -> AsyncIterator[list[ComputerRow]]:
    """A source without `computer_pages`: its whole list as one page."""
    yield await source.list_computers()


class CatalogCache:
    """Software and computers, cached and indexed for typeahead."""

    version = 0  # +1 on every swap (the setter below): what was rendered from the tables is stale

    @property
    def _snapshot(self) -> _Snapshot:
        return self._current

    @_snapshot.setter
    def _snapshot(self, snapshot: _Snapshot) -> None:
        self._current, self.version = snapshot, self.version + 1

    def __init__(self, source: CatalogSource | None = None) -> None:
        self._source = source
        self._snapshot = _Snapshot()
        self._refresh_task: asyncio.Task[None] | None = None
        self._load_lock = asyncio.Lock()
        self._scoped_table: ComputerTable | None = None  # the snapshot `_scope_masks` were built for
        self._scope_masks: dict[Tenants, bytes] = {}

    @classmethod
    def from_rows(cls, software: Iterable[SoftwareLike], computers: Iterable[ComputerLike]) -> CatalogCache:
        """A loaded cache built from rows in hand (benchmarks, tests), no ImmyBot needed."""
        cache = cls()
        cache._snapshot = _Snapshot(SoftwareTable(list(software)), ComputerTable(list(computers)), time.monotonic())
        return cache

    # ---- loading -----------------------------------------------------------------------------

    async def load(self) -> None:
        """Fetch both software catalogs and every computer page in parallel; swap each table in as
        soon as it is complete (the software first). Raises on the first failure, cancelling the
        rest: tables already swapped in stay (a refresh's software may be newer than its computers),
        and a first load's partial computers are withdrawn.

        Memory: each dx page is reduced to flat columns and dropped as it arrives; the software
        payloads are gone once their table is built."""
        if self._source is None:
            raise RuntimeError("this catalog has no ImmyBot source")
        freeze_startup_heap()
        async with self._load_lock:
            software = asyncio.create_task(self._load_software(self._source), name="catalog-software")
            computers = asyncio.create_task(self._load_computers(self._source), name="catalog-computers")
            try:
                await asyncio.gather(software, computers)
            except BaseException:
                for task in (software, computers):
                    task.cancel()
                await asyncio.gather(software, computers, return_exceptions=True)
                if self._snapshot.partial:  # what a failed first load showed: not a fleet to pick from
                    self._snapshot = _Snapshot(self._snapshot.software)
                raise
            snapshot = self._snapshot = _Snapshot(self._snapshot.software, computers.result(), time.monotonic())
            del computers
        await asyncio.to_thread(release_memory)
        log.info("catalog loaded", extra={"sizes": snapshot.sizes})

    async def _load_software(self, source: CatalogSource) -> None:
        global_sw, local_sw = await asyncio.gather(source.list_software(Catalog.GLOBAL),
                                                   source.list_software(Catalog.LOCAL))
        rows: list[Any] = [*local_sw, *global_sw]
        del global_sw, local_sw
        table = await asyncio.to_thread(SoftwareTable, rows, consume=True)
        self._snapshot = dataclasses.replace(self._snapshot, software=table)  # atomic swap, software first

    async def _load_computers(self, source: CatalogSource) -> ComputerTable:
        """Every page into columns; on a first load, tables of what has arrived are served meanwhile:
        one is built (in a thread) whenever the rows have doubled since the last and none is building,
        up to `PARTIAL_ROWS_MAX` rows."""
        columns = ComputerColumns()
        serve_partial = self._snapshot.loaded_at is None
        building: asyncio.Task[None] | None = None
        served = 0

        async def serve(frozen: ComputerColumns) -> None:
            table = await asyncio.to_thread(ComputerTable, frozen)
            if self._snapshot.loaded_at is None:  # still no complete table to show instead
                self._snapshot = dataclasses.replace(self._snapshot, computers=table, partial=True)

        pages = getattr(source, "computer_pages", None)
        try:
            async for page in pages() if pages is not None else _one_page(source):
                columns.add(page)
                del page
                if serve_partial and served < PARTIAL_ROWS_MAX and (building is None or building.done()) \
                        and len(columns) >= 2 * served:
                    served = len(columns)
                    building = asyncio.create_task(serve(columns.frozen()), name="catalog-partial")
            if building is not None:
                await building  # one build at a time: two would share the CPU the final one needs
            return await asyncio.to_thread(ComputerTable, columns)
        finally:
            if building is not None and not building.done():
                building.cancel()
                await asyncio.gather(building, return_exceptions=True)

    def start_refresh(self, interval_seconds: float) -> asyncio.Task[None]:
        """Reload every `interval_seconds` in the background until `stop()`; a failure keeps the old data."""
        if self._refresh_task is None or self._refresh_task.done():
            self._refresh_task = asyncio.create_task(self._refresh_loop(interval_seconds), name="catalog-refresh")
        return self._refresh_task

    async def _refresh_loop(self, interval_seconds: float) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.load()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "catalog refresh failed; keeping the previous data",
                    extra={"error": str(error), "error_type": type(error).__name__, "age_s": self.age_seconds},
                )

    async def stop(self) -> None:
        task, self._refresh_task = self._refresh_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---- state -------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """A complete load has finished (searches answer from partial tables before that)."""
        return self._snapshot.loaded_at is not None

    @property
    def age_seconds(self) -> float | None:
        loaded_at = self._snapshot.loaded_at
        return None if loaded_at is None else time.monotonic() - loaded_at

    @property
    def sizes(self) -> dict[str, int]:
        return self._snapshot.sizes

    # ---- searches (memory only) ----------------------------------------------------------------

    def search_software(self, query: str, limit: int = 100) -> list[CachedSoftware]:
        """Best first, by `bot.immybot.ranking`'s rules; local before global on equal names."""
        table = self._snapshot.software
        return table.rows(ranked_search(table.index, query, limit, table.names))

    def search_computers(self, query: str, limit: int = 100, scope: Tenants | None = None) -> list[CachedComputer]:
        """Names matching the query, best first, then the computers of tenants whose name matches
        (the option shows the tenant, so the match is in sight). With `scope` (a person's tenants,
        SPEC §6) only their computers, filtered inside the search before the limit."""
        table = self._snapshot.computers
        keep = None
        if scope is not None and not scope.every:
            keep = self._scope_mask(table, scope).__getitem__  # 1 for a row in scope: one index per row
        rows = ranked_search(table.index, query, limit, table.names, keep)
        if len(rows) < limit:
            seen, ids = set(rows), table.ids
            seen_ids = {ids[p] for p in rows}
            for p in table.of_tenants(ranked_search(table.tenant_index, query, 20)):
                if keep is not None and not keep(p):
                    continue
                if p not in seen and ids[p] not in seen_ids:
                    rows.append(p)
                    seen.add(p)
                    if len(rows) >= limit:
                        break
        return table.rows(rows)

    def _scope_mask(self, table: ComputerTable, scope: Tenants) -> bytes:
        """Per row of this table, 1 when its tenant is in `scope`: built once per (scope, snapshot)."""
        if self._scoped_table is not table:
            self._scoped_table, self._scope_masks = table, {}
        mask = self._scope_masks.get(scope)
        if mask is None:
            allowed = scope.resolve(table.tenants) or frozenset()
            mask = self._scope_masks[scope] = bytes(map(allowed.__contains__, table.tenant))
        return mask

    def software_by_key(self, key: str) -> CachedSoftware | None:
        """`"Global:714"` → the item (the key is `SoftwareItem.key` / `Software.key`)."""
        snapshot = self._snapshot
        catalog, _, number = key.partition(":")
        try:
            software_id = int(number)
        except ValueError:
            return None
        if catalog not in _CATALOGS or str(software_id) != number:
            return None
        return snapshot.software.by_catalog_id(_CATALOGS[catalog], software_id)

    def computer_by_id(self, computer_id: int) -> CachedComputer | None:
        return self._snapshot.computers.with_id(int(computer_id))

    def computers_by_email(self, email: str) -> list[CachedComputer]:
        """Cached computers whose primary user email is `email`, case-insensitively."""
        return self._snapshot.computers.with_email(email)

    async def computers_for_email(self, email: str) -> list[AnyComputerRow]:
        """Ask ImmyBot (fresh), falling back to the cached rows when its filter finds nothing."""
        if self._source is None:
            return self.computers_by_email(email)
        fallback: Any = self.computers_by_email(email)  # CachedComputer quacks like ComputerRow here
        return await self._source.computers_for_email(email, fallback=fallback)
