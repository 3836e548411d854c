"""An in-memory typeahead index: substring matches first (prefix before infix, shorter first), then fuzzy.

Built once per catalog load, queried on every keystroke, never touching the network:

* Substring matching scans ONE lowercase text holding every name, shortest first (ties
  alphabetical), separated by newlines. `str.find` runs at C speed and finds matches already in
  rank order, so a query stops after `limit` hits; `"\\n" + query` finds exactly the prefix
  matches. An offsets table maps a hit back to its entry (bisect).
* Fuzzy matching (typos such as "chrme") scores only candidates that share a trigram with the
  query, taken from a trigram → positions inverted index (rarest trigrams first, capped), with
  rapidfuzz's `partial_ratio`.

A 2–5 letter query over 50,000 names costs tens of microseconds instead of the ~10 ms of a
`rapidfuzz.process.extract` scan over every name (see `bench/catalog_search.py`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process

T = TypeVar("T")

WALK_MAX = 3000  # a rarest-trigram posting list longer than this is left for a text scan
FUZZY_CANDIDATES = 600  # at most this many names are scored by rapidfuzz per query
FUZZY_CUTOFF = 75.0


_EMPTY: array[int] = array("i")


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


class SearchIndex(Generic[T]):
    """Ranked substring + fuzzy search over `items`, keyed by `name_of(item)`."""

    def __init__(
        self, items: Sequence[T], name_of: Callable[[T], str], tiebreak: Callable[[T], object] | None = None
    ) -> None:
        order = tiebreak or (lambda item: 0)  # sorted() is stable: equal names keep the input order
        keyed = sorted(
            ((normalise(name_of(item)), item) for item in items), key=lambda p: (len(p[0]), p[0], order(p[1]))
        )
        self.items: list[T] = [item for _, item in keyed]
        self.keys: list[str] = [key for key, _ in keyed]
        self.starts: list[int] = []
        offset = 1
        for key in self.keys:
            self.starts.append(offset)
            offset += len(key) + 1
        self.text = "\n" + "\n".join(self.keys) + "\n"
        self.alphabetical: array[int] = array("i", sorted(range(len(self.keys)), key=self.keys.__getitem__))
        self.blocks: list[tuple[int, int, int]] = []  # (length, first position, end) per name length
        for position, key in enumerate(self.keys):
            if not self.blocks or self.blocks[-1][0] != len(key):
                self.blocks.append((len(key), position, position))
            self.blocks[-1] = (len(key), self.blocks[-1][1], position + 1)
        grams: dict[str, array[int]] = {}
        for position, key in enumerate(self.keys):
            for gram in trigrams(key) | bigrams(key):
                bucket = grams.get(gram)
                if bucket is None:
                    grams[gram] = bucket = array("i")
                bucket.append(position)
        self.grams = grams

    def __len__(self) -> int:
        return len(self.items)

    # ---- queries -----------------------------------------------------------------------------

    def search(self, query: str, limit: int = 100) -> list[T]:
        positions = self.substring(query, limit)
        if len(positions) < limit:
            positions += self.fuzzy(query, limit - len(positions), exclude=set(positions))
        return [self.items[p] for p in positions]

    def substring(self, query: str, limit: int) -> list[int]:
        """Positions of entries containing `query`: prefix matches, then infix; each shortest first."""
        q = normalise(query)
        if limit <= 0:
            return []
        if not q:
            return list(self.alphabetical[:limit])
        found = self._prefixed(q, limit)
        if len(found) < limit:
            found += self._infixed(q, limit - len(found))
        return found

    def _prefixed(self, q: str, limit: int) -> list[int]:
        """Within each length block keys are alphabetical: two bisects per length give rank-ordered hits."""
        keys, found = self.keys, []
        for length, first, end in self.blocks:
            if length < len(q):
                continue
            lo = bisect_left(keys, q, first, end)
            hi = bisect_left(keys, q + "\U0010ffff", lo, end)
            found.extend(range(lo, min(hi, lo + limit - len(found))))
            if len(found) >= limit:
                break
        return found

    def _infixed(self, q: str, limit: int) -> list[int]:
        keys = self.keys
        if len(q) >= 2:
            exact = len(q) <= 3  # the posting list of q itself holds exactly the entries containing q
            posting = (
                self.grams.get(q, _EMPTY) if exact else min((self.grams.get(g, _EMPTY) for g in trigrams(q)), key=len)
            )
            if exact or len(posting) <= WALK_MAX:
                found: list[int] = []
                for position in posting:  # rank order already
                    key = keys[position]
                    if (exact or q in key) and not key.startswith(q):
                        found.append(position)
                        if len(found) >= limit:
                            break
                return found
        text, starts = self.text, self.starts  # one letter, or common trigrams: scan, stop at `limit`
        found = []
        hit = text.find(q)
        while hit != -1 and len(found) < limit:
            position = bisect_right(starts, hit) - 1
            start = starts[position]
            if hit != start:  # entries starting with q were taken by _prefixed
                found.append(position)
            hit = text.find(q, start + len(keys[position]) + 1)
        return found

    def fuzzy(self, query: str, limit: int, exclude: set[int] | None = None) -> list[int]:
        """Near misses (typos): candidates sharing a trigram, best `partial_ratio` first."""
        q = normalise(query)
        if limit <= 0 or len(q) < 3:
            return []
        exclude = exclude or set()
        postings = sorted((self.grams.get(g) or _EMPTY for g in trigrams(q)), key=len)
        candidates: set[int] = set()
        for posting in postings:
            room = FUZZY_CANDIDATES - len(candidates)
            if room <= 0:
                break
            candidates.update(posting[:room])
        candidates -= exclude
        if not candidates:
            return []
        ordered = sorted(candidates)
        choices = {p: self.keys[p] for p in ordered}
        hits = process.extract(q, choices, scorer=fuzz.partial_ratio, limit=limit, score_cutoff=FUZZY_CUTOFF)
        hits.sort(key=lambda hit: (-hit[1], hit[2]))
        return [position for _, _, position in hits]
