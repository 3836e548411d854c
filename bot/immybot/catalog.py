"""The cached software catalogs and computer list that every Slack typeahead searches.

    catalog = CatalogCache(client)
    await catalog.load()                      # global + local software, ALL computers (dx paging)
    catalog.start_refresh(15 * 60)            # background refresh; errors logged, old data kept
    catalog.search_software("chr")            # in memory, never waits for ImmyBot
    await catalog.stop()

A refresh builds a complete new snapshot (indexes included, in a worker thread) and then swaps
it in with one assignment, so a search sees either the old data or the new, never a mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.immybot.catalog_rows import ComputerLike, ComputerTable, SoftwareLike, SoftwareTable
from bot.immybot.models import AnyComputerRow, CachedComputer, CachedSoftware, ComputerRow, SoftwareItem
from bot.workflow.model import Catalog

log = logging.getLogger(__name__)

_CATALOGS = {catalog.value: catalog for catalog in Catalog}


def release_memory() -> None:
    """Hand the heap pages a build freed back to the OS (glibc's `malloc_trim`; elsewhere a no-op).

    A load parses ~70,000 rows and builds the index from small temporaries; CPython frees them, but
    glibc keeps freed pages mapped unless asked. Takes a few milliseconds; run it off the event loop."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).malloc_trim(0)  # the process's own symbols: glibc's, when it is glibc


class CatalogSource(Protocol):
    async def list_software(self, catalog: Catalog) -> list[SoftwareItem]: ...

    async def list_computers(self) -> list[ComputerRow]: ...

    async def computers_for_email(
        self, email: str, *, fallback: Iterable[ComputerRow] | None = None
    ) -> list[ComputerRow]: ...


@dataclass
class _Snapshot:
    software: SoftwareTable
    computers: ComputerTable
    loaded_at: float = field(default_factory=time.monotonic)

    @property
    def sizes(self) -> dict[str, int]:
        return {
            "global_software": self.software.count(Catalog.GLOBAL),
            "local_software": self.software.count(Catalog.LOCAL),
            "computers": len(self.computers),
        }


class CatalogCache:
    """Software and computers, cached and indexed for typeahead."""

    def __init__(self, source: CatalogSource | None = None) -> None:
        self._source = source
        self._snapshot: _Snapshot | None = None
        self._refresh_task: asyncio.Task[None] | None = None
        self._load_lock = asyncio.Lock()

    @classmethod
    def from_rows(cls, software: Iterable[SoftwareLike], computers: Iterable[ComputerLike]) -> CatalogCache:
        """A loaded cache built from rows in hand (benchmarks, tests), no ImmyBot needed."""
        cache = cls()
        cache._snapshot = _Snapshot(SoftwareTable(list(software)), ComputerTable(list(computers)))
        return cache

    # ---- loading -----------------------------------------------------------------------------

    async def load(self) -> None:
        """Fetch everything, build the new indexes off the event loop, swap them in. Raises on failure.

        Software first, indexed, then the computers: the parsed software payloads are gone before the
        computer pages pile up, and each table empties its list of parsed rows as soon as its columns
        hold them, so a load never holds every parsed row and every index at once."""
        if self._source is None:
            raise RuntimeError("this catalog has no ImmyBot source")
        async with self._load_lock:
            global_sw, local_sw = await asyncio.gather(
                self._source.list_software(Catalog.GLOBAL), self._source.list_software(Catalog.LOCAL)
            )
            rows: list[Any] = [*local_sw, *global_sw]
            del global_sw, local_sw
            software = await asyncio.to_thread(SoftwareTable, rows, consume=True)
            rows = await self._source.list_computers()
            computers = await asyncio.to_thread(ComputerTable, rows, consume=True)
            del rows
            snapshot = _Snapshot(software, computers)
            self._snapshot = snapshot  # atomic swap; the old snapshot goes with the last search using it
            del software, computers
        await asyncio.to_thread(release_memory)
        log.info("catalog loaded", extra={"sizes": snapshot.sizes})

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
        return self._snapshot is not None

    @property
    def age_seconds(self) -> float | None:
        snapshot = self._snapshot
        return None if snapshot is None else time.monotonic() - snapshot.loaded_at

    @property
    def sizes(self) -> dict[str, int]:
        snapshot = self._snapshot
        return snapshot.sizes if snapshot else {"global_software": 0, "local_software": 0, "computers": 0}

    # ---- searches (memory only) ----------------------------------------------------------------

    def search_software(self, query: str, limit: int = 100) -> list[CachedSoftware]:
        snapshot = self._snapshot
        if snapshot is None:
            return []
        table = snapshot.software
        return table.rows(table.index.search(query, limit))

    def search_computers(self, query: str, limit: int = 100) -> list[CachedComputer]:
        """Name matches (prefix, infix), then computers of matching tenants, then fuzzy name matches."""
        snapshot = self._snapshot
        if snapshot is None or limit <= 0:
            return []
        table = snapshot.computers
        index, ids = table.index, table.ids
        positions = index.substring(query, limit)
        rows = list(positions)
        if len(rows) < limit and query.strip():
            seen = {ids[p] for p in rows}
            for p in table.of_tenants(table.tenant_index.search(query, 20)):
                if ids[p] not in seen:
                    rows.append(p)
                    seen.add(ids[p])
                    if len(rows) >= limit:
                        break
            else:
                rows += [p for p in index.fuzzy(query, limit - len(rows), exclude=set(positions)) if ids[p] not in seen]
        return table.rows(rows[:limit])

    def software_by_key(self, key: str) -> CachedSoftware | None:
        """`"Global:714"` → the item (the key is `SoftwareItem.key` / `Software.key`)."""
        snapshot = self._snapshot
        catalog, _, number = key.partition(":")
        try:
            software_id = int(number)
        except ValueError:
            return None
        if snapshot is None or catalog not in _CATALOGS or str(software_id) != number:
            return None
        return snapshot.software.by_catalog_id(_CATALOGS[catalog], software_id)

    def computer_by_id(self, computer_id: int) -> CachedComputer | None:
        snapshot = self._snapshot
        return snapshot.computers.with_id(int(computer_id)) if snapshot else None

    def computers_by_email(self, email: str) -> list[CachedComputer]:
        """Cached computers whose primary user email is `email`, case-insensitively."""
        snapshot = self._snapshot
        return snapshot.computers.with_email(email) if snapshot else []

    async def computers_for_email(self, email: str) -> list[AnyComputerRow]:
        """Ask ImmyBot (fresh), falling back to the cached rows when its filter finds nothing."""
        if self._source is None:
            return self.computers_by_email(email)
        fallback: Any = self.computers_by_email(email)  # CachedComputer quacks like ComputerRow here
        return await self._source.computers_for_email(email, fallback=fallback)
