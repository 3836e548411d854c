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
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from bot.immybot.models import ComputerRow, SoftwareItem
from bot.immybot.search_index import SearchIndex
from bot.workflow.model import Catalog

log = logging.getLogger(__name__)


class CatalogSource(Protocol):
    async def list_software(self, catalog: Catalog) -> list[SoftwareItem]: ...

    async def list_computers(self) -> list[ComputerRow]: ...

    async def computers_for_email(
        self, email: str, *, fallback: Iterable[ComputerRow] | None = None
    ) -> list[ComputerRow]: ...


def _email_key(email: str | None) -> str:
    return (email or "").strip().casefold()


@dataclass
class _Snapshot:
    software: SearchIndex[SoftwareItem]
    computers: SearchIndex[ComputerRow]
    tenants: SearchIndex[str]
    software_by_key: dict[str, SoftwareItem]
    computer_by_id: dict[int, ComputerRow]
    by_email: dict[str, list[ComputerRow]]
    by_tenant: dict[str, list[ComputerRow]]  # rank order within each tenant
    sizes: dict[str, int] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.monotonic)

    @classmethod
    def build(cls, software: Iterable[SoftwareItem], computers: Iterable[ComputerRow]) -> _Snapshot:
        software = list(software)
        computer_index = SearchIndex(list(computers), lambda c: c.name, tiebreak=lambda c: c.id)
        by_email: dict[str, list[ComputerRow]] = {}
        by_tenant: dict[str, list[ComputerRow]] = {}
        for row in computer_index.items:
            if row.primary_user_email:
                by_email.setdefault(_email_key(row.primary_user_email), []).append(row)
            if row.tenant_name:
                by_tenant.setdefault(row.tenant_name, []).append(row)
        return cls(
            software=SearchIndex(software, lambda s: s.name, tiebreak=lambda s: (s.catalog is Catalog.GLOBAL, s.id)),
            computers=computer_index,
            tenants=SearchIndex(sorted(by_tenant), lambda name: name),
            software_by_key={item.key: item for item in software},
            computer_by_id={row.id: row for row in computer_index.items},
            by_email=by_email,
            by_tenant=by_tenant,
            sizes={
                "global_software": sum(1 for s in software if s.catalog is Catalog.GLOBAL),
                "local_software": sum(1 for s in software if s.catalog is Catalog.LOCAL),
                "computers": len(computer_index),
            },
        )


class CatalogCache:
    """Software and computers, cached and indexed for typeahead."""

    def __init__(self, source: CatalogSource | None = None) -> None:
        self._source = source
        self._snapshot: _Snapshot | None = None
        self._refresh_task: asyncio.Task[None] | None = None
        self._load_lock = asyncio.Lock()

    @classmethod
    def from_rows(cls, software: Iterable[SoftwareItem], computers: Iterable[ComputerRow]) -> CatalogCache:
        """A loaded cache built from rows in hand (benchmarks, tests), no ImmyBot needed."""
        cache = cls()
        cache._snapshot = _Snapshot.build(software, computers)
        return cache

    # ---- loading -----------------------------------------------------------------------------

    async def load(self) -> None:
        """Fetch everything, build the new indexes off the event loop, swap them in. Raises on failure."""
        if self._source is None:
            raise RuntimeError("this catalog has no ImmyBot source")
        async with self._load_lock:
            global_sw, local_sw, computers = await asyncio.gather(
                self._source.list_software(Catalog.GLOBAL),
                self._source.list_software(Catalog.LOCAL),
                self._source.list_computers(),
            )
            snapshot = await asyncio.to_thread(_Snapshot.build, [*local_sw, *global_sw], computers)
            self._snapshot = snapshot  # atomic swap
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
        return dict(snapshot.sizes) if snapshot else {"global_software": 0, "local_software": 0, "computers": 0}

    # ---- searches (memory only) ----------------------------------------------------------------

    def search_software(self, query: str, limit: int = 100) -> list[SoftwareItem]:
        snapshot = self._snapshot
        return snapshot.software.search(query, limit) if snapshot else []

    def search_computers(self, query: str, limit: int = 100) -> list[ComputerRow]:
        """Name matches (prefix, infix), then computers of matching tenants, then fuzzy name matches."""
        snapshot = self._snapshot
        if snapshot is None or limit <= 0:
            return []
        index = snapshot.computers
        positions = index.substring(query, limit)
        rows = [index.items[p] for p in positions]
        if len(rows) < limit and query.strip():
            seen = {row.id for row in rows}
            for tenant in snapshot.tenants.search(query, 20):
                for row in snapshot.by_tenant.get(tenant, ()):
                    if row.id not in seen:
                        rows.append(row)
                        seen.add(row.id)
                        if len(rows) >= limit:
                            return rows
            for p in index.fuzzy(query, limit - len(rows), exclude=set(positions)):
                if index.items[p].id not in seen:
                    rows.append(index.items[p])
        return rows[:limit]

    def software_by_key(self, key: str) -> SoftwareItem | None:
        """`"Global:714"` → the item (the key is `SoftwareItem.key` / `Software.key`)."""
        snapshot = self._snapshot
        return snapshot.software_by_key.get(key) if snapshot else None

    def computer_by_id(self, computer_id: int) -> ComputerRow | None:
        snapshot = self._snapshot
        return snapshot.computer_by_id.get(int(computer_id)) if snapshot else None

    def computers_by_email(self, email: str) -> list[ComputerRow]:
        """Cached computers whose primary user email is `email`, case-insensitively."""
        snapshot = self._snapshot
        return list(snapshot.by_email.get(_email_key(email), ())) if snapshot else []

    async def computers_for_email(self, email: str) -> list[ComputerRow]:
        """Ask ImmyBot (fresh), falling back to the cached rows when its filter finds nothing."""
        if self._source is None:
            return self.computers_by_email(email)
        return await self._source.computers_for_email(email, fallback=self.computers_by_email(email))
