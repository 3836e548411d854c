"""The catalog's rows in flat columns: arrays, one list of names, no object per row.

A table lays its columns out in its `SearchIndex`'s rank order, so a search position IS a row
number; `rows(positions)` builds the `CachedSoftware` / `CachedComputer` results on demand. Only
the fields the bot reads are kept (software: id, name, catalog; computers: id, name, tenant id and
name, online, primary user email). Repeated values (tenants, emails) are stored once.

Memory: a load parses rows into many small objects that CPython cannot hand back to the OS while
anything long-lived sits among them. So a table copies what it keeps out of the rows (`consume`
empties the caller's list right then, before ranking and indexing) and allocates its own
strings only after the rows are gone. `bench/catalog_search.py` measures the result.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Protocol

from bot.immybot.models import CachedComputer, CachedSoftware
from bot.immybot.search_index import SearchIndex, rank
from bot.workflow.model import Catalog


class SoftwareLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def catalog(self) -> Catalog: ...


class ComputerLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def tenant_id(self) -> int | None: ...
    @property
    def tenant_name(self) -> str | None: ...
    @property
    def online(self) -> bool | None: ...
    @property
    def primary_user_email(self) -> str | None: ...


def email_key(email: str | None) -> str:
    return (email or "").strip().casefold()


class Strings:
    """Strings packed into one `str`: value i is `text[starts[i] : starts[i + 1]]`. A build packs the
    rows' strings so the rows can go; `self[i]` is a fresh copy."""

    __slots__ = ("starts", "text")

    def __init__(self, values: Iterable[str]) -> None:
        parts = list(values)
        self.text = "".join(parts)
        self.starts = array("I", [0])
        for part in parts:
            self.starts.append(self.starts[-1] + len(part))

    def __getitem__(self, i: int) -> str:
        return self.text[self.starts[i] : self.starts[i + 1]]

    def __len__(self) -> int:
        return len(self.starts) - 1


class Lookup:
    """int key → row numbers, as two parallel sorted arrays: a bisect instead of a dict of objects."""

    __slots__ = ("keys", "rows")

    def __init__(self, keys: Iterable[int], rows: Iterable[int] | None = None) -> None:
        """`keys[i]` is the key of row `rows[i]` (of row i without `rows`)."""
        unsorted = array("q", keys)
        numbers = array("I", range(len(unsorted)) if rows is None else rows)
        order = sorted(range(len(unsorted)), key=unsorted.__getitem__)  # stable: a key's rows stay in order
        self.keys = array("q", [unsorted[i] for i in order])
        self.rows = array("I", [numbers[i] for i in order])

    def get(self, key: int) -> array[int]:
        """The rows under `key`, in row order."""
        lo = bisect_left(self.keys, key)
        return self.rows[lo : bisect_right(self.keys, key, lo)]


_CATALOG_OF = (Catalog.LOCAL, Catalog.GLOBAL)  # by is_global
_ONLINE = (False, True, None)  # by online: 0, 1, -1


def _copy(text: str | None) -> str | None:
    return None if text is None else text.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")


def _software_code(catalog: Catalog, software_id: int) -> int:
    return software_id * 2 + (catalog is Catalog.GLOBAL)


class SoftwareTable:
    """Global and local software, one row per item, ranked: local before global on equal names."""

    def __init__(self, items: list[SoftwareLike], *, consume: bool = False) -> None:
        """`consume`: empty `items` as soon as columns hold their fields (before ranking and indexing)."""
        names = Strings(item.name for item in items)
        ids = array("q", [item.id for item in items])
        is_global = bytes(item.catalog is Catalog.GLOBAL for item in items)
        if consume:
            items.clear()
        order, keys = rank(map(names.__getitem__, range(len(names))), is_global.__getitem__, ids.__getitem__)
        self.names = [*map(names.__getitem__, order)]  # fresh strings, after the rows are gone
        self.ids = array("q", map(ids.__getitem__, order))
        self.is_global = bytes(map(is_global.__getitem__, order))
        del names, ids, is_global
        self.by_key = Lookup(map(_software_code, map(_CATALOG_OF.__getitem__, self.is_global), self.ids))
        self.index = SearchIndex(ranked=(order, keys))

    def __len__(self) -> int:
        return len(self.ids)

    def row(self, p: int) -> CachedSoftware:
        return self.rows((p,))[0]

    def rows(self, positions: Iterable[int]) -> list[CachedSoftware]:
        """The results at these positions (one pass, locals bound once: this runs on every keystroke)."""
        ids, names, is_global, new = self.ids, self.names, self.is_global, tuple.__new__
        return [new(CachedSoftware, (ids[p], names[p], _CATALOG_OF[is_global[p]])) for p in positions]

    def count(self, catalog: Catalog) -> int:
        globals_ = self.is_global.count(1)
        return globals_ if catalog is Catalog.GLOBAL else len(self) - globals_

    def by_catalog_id(self, catalog: Catalog, software_id: int) -> CachedSoftware | None:
        rows = self.by_key.get(_software_code(catalog, software_id))
        return self.row(rows[-1]) if rows else None


class ComputerColumns:
    """Computer rows reduced to the fields a `ComputerTable` keeps, page by page, each id once.

    A load adds each dx page as it arrives and drops it: no parsed row outlives its page, and the
    page's strings are packed into one `str` per page (copies: nothing pins the parse's memory)."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.online = array("b")
        self.tenant = array("i")
        self.tenants: dict[tuple[int | None, str | None], int] = {}  # (tenant id, name) → number
        self.name_parts: list[str] = []
        self.name_ends = array("I", [0])
        self.email_parts: list[str] = []
        self.email_ends = array("I", [0])
        self._seen: set[int] = set()

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, rows: Iterable[ComputerLike]) -> None:
        names: list[str] = []
        emails: list[str] = []
        for row in rows:
            if row.id in self._seen:  # offset paging over a changing fleet can repeat a row
                continue
            self._seen.add(row.id)
            self.ids.append(row.id)
            self.online.append(-1 if row.online is None else int(row.online))
            key = (row.tenant_id, row.tenant_name)
            if row.tenant_id is None and row.tenant_name is None:
                self.tenant.append(-1)
            else:
                number = self.tenants.get(key)
                if number is None:  # a copy: a string kept from a parsed row would pin its page's memory
                    number = self.tenants[(row.tenant_id, _copy(row.tenant_name))] = len(self.tenants)
                self.tenant.append(number)
            names.append(row.name)
            emails.append(row.primary_user_email or "")  # "": none
        for values, parts, ends in ((names, self.name_parts, self.name_ends),
                                    (emails, self.email_parts, self.email_ends)):  # fmt: skip
            parts.append(_copy("".join(values)) or "")
            for value in values:
                ends.append(ends[-1] + len(value))

    def frozen(self) -> ComputerColumns:
        """A copy a worker thread can build from while this one keeps growing."""
        copy = ComputerColumns()
        copy.ids, copy.online, copy.tenant = self.ids[:], self.online[:], self.tenant[:]
        copy.tenants = dict(self.tenants)
        copy.name_parts, copy.name_ends = list(self.name_parts), self.name_ends[:]
        copy.email_parts, copy.email_ends = list(self.email_parts), self.email_ends[:]
        return copy


def _strings(parts: list[str], ends: array[int]) -> Strings:
    packed = Strings(())
    packed.text, packed.starts = "".join(parts), ends
    return packed


class ComputerTable:
    """Computers ranked by name (then id), their tenants searchable by name, looked up by id or email."""

    def __init__(self, rows: list[ComputerLike] | ComputerColumns, *, consume: bool = False) -> None:
        """`rows`, or columns already gathered; `consume`: empty `rows` as soon as columns hold their
        fields (before ranking and indexing)."""
        if isinstance(rows, ComputerColumns):
            columns = rows
        else:
            columns = ComputerColumns()
            columns.add(rows)
            if consume:
                rows.clear()
        names = _strings(columns.name_parts, columns.name_ends)
        emails = _strings(columns.email_parts, columns.email_ends)
        ids, online, tenant, tenants = columns.ids, columns.online, columns.tenant, columns.tenants
        self.tenants = [*tenants, (None, None)]  # tenant -1: the last
        order, keys = rank(map(names.__getitem__, range(len(names))), ids.__getitem__)
        self.names = [*map(names.__getitem__, order)]  # fresh strings, not slices kept from a page
        numbers: dict[str, int] = {}  # each email once
        self.email = array("i", (numbers.setdefault(email, len(numbers)) if email else -1
                                 for email in map(emails.__getitem__, order)))  # fmt: skip
        self.emails: list[str | None] = [*numbers, None]  # email -1: None
        self.ids = array("q", map(ids.__getitem__, order))
        self.online = array("b", map(online.__getitem__, order))
        self.tenant = array("i", map(tenant.__getitem__, order))
        del names, emails, ids, online, tenant, tenants, columns
        self.index = SearchIndex(ranked=(order, keys))
        del order, keys
        self.by_id = Lookup(self.ids)
        with_email = [p for p, e in enumerate(self.email) if e >= 0]
        self.by_email = Lookup((hash(email_key(self.emails[self.email[p]])) for p in with_email), with_email)
        # ^ hashes collide at times: `with_email` compares the emails themselves
        # Tenant names, searchable; each one's computers in rank order: by_tenant[starts[t]:starts[t + 1]].
        names = sorted({name for _, name in self.tenants if name})
        self.tenant_index = SearchIndex(names)
        position = {names[i]: p for p, i in enumerate(self.tenant_index.order)}
        groups = [position[name] if name else -1 for _, name in self.tenants[:-1]]
        group_of = [groups[t] if t >= 0 else -1 for t in self.tenant]
        grouped = sorted((p for p, g in enumerate(group_of) if g >= 0), key=group_of.__getitem__)
        self.by_tenant = array("I", grouped)
        group = group_of.__getitem__
        self.tenant_starts = array("I", (bisect_left(grouped, g, key=group) for g in range(len(names) + 1)))

    def __len__(self) -> int:
        return len(self.ids)

    def row(self, p: int) -> CachedComputer:
        return self.rows((p,))[0]

    def rows(self, positions: Iterable[int]) -> list[CachedComputer]:
        """The results at these positions (one pass, locals bound once: this runs on every keystroke)."""
        ids, names, tenant, tenants = self.ids, self.names, self.tenant, self.tenants
        online, email, emails = self.online, self.email, self.emails
        new, out = tuple.__new__, []
        for p in positions:
            out.append(new(CachedComputer, (
                ids[p], names[p], *tenants[tenant[p]], _ONLINE[online[p]], emails[email[p]],
            )))  # fmt: skip
        return out

    def with_id(self, computer_id: int) -> CachedComputer | None:
        rows = self.by_id.get(computer_id)
        return self.row(rows[-1]) if rows else None

    def with_email(self, email: str) -> list[CachedComputer]:
        wanted = email_key(email)
        return self.rows(p for p in self.by_email.get(hash(wanted)) if email_key(self.emails[self.email[p]]) == wanted)

    def of_tenants(self, tenant_positions: Iterable[int]) -> Iterable[int]:
        """Rows of the tenants at these `tenant_index` positions, tenant by tenant, rank order within."""
        for t in tenant_positions:
            yield from self.by_tenant[self.tenant_starts[t] : self.tenant_starts[t + 1]]
