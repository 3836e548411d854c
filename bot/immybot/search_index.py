"""An in-memory typeahead index: substring matches first (prefix before infix, shorter first), then fuzzy.

Built once per catalog load, queried on every keystroke, never touching the network. It answers
with POSITIONS (ranks): position 0 is the best-ranked name (shortest, then alphabetical, then the
caller's tiebreak). `order[position]` is the input index, so callers lay their own columns out in
rank order and map a position straight to a row.

Memory is a handful of flat buffers, no per-name Python objects:

* `text`: every normalised name, rank order, each preceded by a newline; `starts[p]` is where name
  p begins (one extra entry closes the last). A name is `text[starts[p] : starts[p + 1] - 1]`.
* Prefix matches: one bisect over `alphabetical` (positions in key order) finds them all; a few
  are sorted by rank directly, many are taken per length block (keys are alphabetical within a
  length), stopping at `limit`.
* Infix matches: the posting list of the query's rarest gram (the query itself up to 3 letters,
  else its 3-grams) in rank order, checked; where a common gram's list was cut short, `str.find`
  over `text` carries on after it (a common gram means dense hits: the scan soon reaches `limit`).
* Fuzzy (typos such as "chrme"): rapidfuzz's `partial_ratio` over at most `FUZZY_CANDIDATES`
  names sharing a trigram with the query, rarest trigrams first.
* Grams (2 and 3 letters) are int codes in one sorted `array('q')`, their postings one
  `array('I')`. A gram on more than `WALK_MAX` names keeps only its first `KEPT` positions (all
  fuzzy ever reads): those long lists would otherwise be most of the memory.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rapidfuzz import fuzz, process

WALK_MAX = 1000  # a gram on more names keeps only its first KEPT positions; past them, a text scan
FUZZY_CANDIDATES = 600  # at most this many names are scored by rapidfuzz per query
FUZZY_CUTOFF = 75.0
KEPT = {3: FUZZY_CANDIDATES, 2: 200}  # by gram size: all fuzzy reads; twice the options Slack shows
SORT_MAX = 1000  # up to this many prefix matches are put in rank order by one sort

_TOP = "\U0010ffff"
# (gram size, first letter from, to) per indexing pass, in ascending code order: 2-grams, then 3-grams
PASSES = ((2, "\0", _TOP + _TOP), (3, "\0", "a"), (3, "a", "n"), (3, "n", _TOP + _TOP))


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def grams(text: str, size: int) -> set[str]:
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def code(gram: str) -> int:
    """A 3-character gram as an int >= 0 (21 bits a code point), a 2-character one as an int < 0."""
    if len(gram) == 3:
        return (ord(gram[0]) << 42) | (ord(gram[1]) << 21) | ord(gram[2])
    return -1 - ((ord(gram[0]) << 21) | ord(gram[1]))


def rank(names: Iterable[str], *tiebreaks: Callable[[int], Any]) -> tuple[array[int], list[str]]:
    """(order, keys): input indexes best first (shorter, alphabetical, then each tiebreak), keys in that order.

    Stable sorts from the least significant key up: no key tuple per name, so no peak of them."""
    keys = [normalise(name) for name in names]
    order = list(range(len(keys)))
    for key in (*reversed(tiebreaks), keys.__getitem__, lambda i: len(keys[i])):
        order.sort(key=key)
    return array("I", order), [keys[i] for i in order]


class SearchIndex:
    """Ranked substring + fuzzy search over `names`; answers are positions in rank order.

    `SearchIndex(names, *tiebreaks)`, or `SearchIndex(ranked=rank(names, ...))` when the caller
    lays its columns out (and drops its rows) between ranking and indexing.
    """

    def __init__(
        self,
        names: Iterable[str] = (),
        *tiebreaks: Callable[[int], Any],
        ranked: tuple[array[int], list[str]] | None = None,
    ) -> None:
        self.order, keys = ranked or rank(names, *tiebreaks)  # order: position -> input index
        self.text = "\n" + "\n".join(keys) + "\n"
        self.starts = array("I")
        offset = 1
        for key in keys:
            self.starts.append(offset)
            offset += len(key) + 1
        self.starts.append(offset)
        self.alphabetical = array("I", sorted(range(len(keys)), key=keys.__getitem__))
        self.blocks: list[tuple[int, int, int]] = []  # (length, first position, end) per name length
        for position, key in enumerate(keys):
            if not self.blocks or self.blocks[-1][0] != len(key):
                self.blocks.append((len(key), position, position))
            self.blocks[-1] = (len(key), self.blocks[-1][1], position + 1)
        self._pack(keys)

    def _pack(self, keys: Sequence[str]) -> None:
        """Gram → positions, packed. One pass per gram size and first-letter range (`PASSES`, ascending
        codes, so the packed codes come out sorted): a quarter of the grams in a dict at a time."""
        self.codes, self.counts, self.offsets, self.postings = array("q"), array("I"), array("I", [0]), array("I")
        for size, low, high in PASSES:
            postings: dict[str, array[int]] = {}
            more: dict[str, int] = {}  # names past WALK_MAX + 1 per common gram: counted, never stored
            for position, key in enumerate(keys):
                for gram in grams(key, size):
                    if not low <= gram[0] < high:
                        continue
                    bucket = postings.get(gram)
                    if bucket is None:
                        postings[gram] = bucket = array("I")
                    if len(bucket) <= WALK_MAX:
                        bucket.append(position)
                    else:
                        more[gram] = more.get(gram, 0) + 1
            for value, gram in sorted((code(gram), gram) for gram in postings):
                bucket = postings.pop(gram)
                self.codes.append(value)
                self.counts.append(len(bucket) + more.get(gram, 0))
                self.postings.extend(bucket if len(bucket) <= WALK_MAX else bucket[: KEPT[size]])
                self.offsets.append(len(self.postings))

    def __len__(self) -> int:
        return len(self.order)

    def key(self, position: int) -> str:
        return self.text[self.starts[position] : self.starts[position + 1] - 1]

    def _posting(self, gram: str) -> tuple[int, Sequence[int]]:
        """(names holding `gram`, the positions kept for it: all of them when count <= WALK_MAX)."""
        value = code(gram)
        i = bisect_left(self.codes, value)
        if i == len(self.codes) or self.codes[i] != value:
            return 0, ()
        return self.counts[i], self.postings[self.offsets[i] : self.offsets[i + 1]]  # a copy iterates fastest

    # ---- queries -----------------------------------------------------------------------------

    def search(self, query: str, limit: int = 100) -> list[int]:
        positions = self.substring(query, limit)
        if len(positions) < limit:
            positions += self.fuzzy(query, limit - len(positions), exclude=set(positions))
        return positions

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
        key, alphabetical = self.key, self.alphabetical
        lo = bisect_left(alphabetical, q, key=key)
        hi = bisect_left(alphabetical, q + _TOP, lo, key=key)
        if hi - lo <= max(limit, SORT_MAX):
            return sorted(alphabetical[lo:hi])[:limit]
        found: list[int] = []  # many: within each length block keys are alphabetical, blocks in rank order
        for length, first, end in self.blocks:
            if length < len(q):
                continue
            lo = bisect_left(range(first, end), q, key=key) + first
            hi = bisect_left(range(lo, end), q + _TOP, key=key) + lo
            found.extend(range(lo, min(hi, lo + limit - len(found))))
            if len(found) >= limit:
                break
        return found

    def _infixed(self, q: str, limit: int) -> list[int]:
        text, starts = self.text, self.starts
        found: list[int] = []
        resume = 0  # where a text scan starts: after the positions a posting list covered
        if len(q) >= 2:
            exact = len(q) <= 3  # the posting list of q itself holds exactly the entries containing q
            count, posting = self._posting(q) if exact else min((self._posting(g) for g in grams(q, 3)), key=_count)
            for position in posting:  # rank order already; a slice beats find(q, start, end) on `text`
                key = text[starts[position] : starts[position + 1] - 1]
                if (exact or q in key) and not key.startswith(q):
                    found.append(position)
                    if len(found) >= limit:
                        return found
            if len(posting) == count:  # the whole list: nothing else contains q
                return found
            resume = posting[-1] + 1 if posting else 0
        hit = text.find(q, starts[resume])  # one letter, or a common gram's tail: scan, stop at `limit`
        while hit != -1 and len(found) < limit:
            position = bisect_right(starts, hit) - 1
            if hit != starts[position]:  # entries starting with q were taken by _prefixed
                found.append(position)
            hit = text.find(q, starts[position + 1])
        return found

    def fuzzy(self, query: str, limit: int, exclude: set[int] | None = None) -> list[int]:
        """Near misses (typos): candidates sharing a trigram, best `partial_ratio` first."""
        q = normalise(query)
        if limit <= 0 or len(q) < 3:
            return []
        exclude = exclude or set()
        postings = sorted((self._posting(g) for g in grams(q, 3)), key=_count)
        candidates: set[int] = set()
        for _, posting in postings:
            room = FUZZY_CANDIDATES - len(candidates)
            if room <= 0:
                break
            candidates.update(posting[:room])
        candidates -= exclude
        if not candidates:
            return []
        text, starts = self.text, self.starts
        choices = {p: text[starts[p] : starts[p + 1] - 1] for p in sorted(candidates)}
        hits = process.extract(q, choices, scorer=fuzz.partial_ratio, limit=limit, score_cutoff=FUZZY_CUTOFF)
        hits.sort(key=lambda hit: (-hit[1], hit[2]))
        return [position for _, _, position in hits]


def _count(entry: tuple[int, Sequence[int]]) -> int:
    return entry[0]
