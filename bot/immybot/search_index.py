"""An in-memory typeahead index over names: finds the names containing a fragment, fast; ranking is
`bot.immybot.ranking`'s.

Built once per catalog load, queried on every keystroke, never touching the network. A name's KEY
is its words (runs of letters and digits, lowercased) between single spaces, with a space at each
end: "Microsoft Visual C++ 2015-2022 (x64)" → " microsoft visual c 2015 2022 x64 ". So " chr" finds
the words starting with "chr", " chrome " the whole word, and punctuation and spacing never
matter. Positions are ranks: position 0 is the shortest key (then alphabetical, then the caller's
tiebreaks); `order[position]` is the input index, so callers lay their own columns out in rank
order and map a position straight to a row.

Memory is a handful of flat buffers, no per-name Python objects:

* `text`: every key, rank order, each preceded by a newline; `starts[p]` is where key p begins
  (one extra entry closes the last). A key is `text[starts[p] : starts[p + 1] - 1]`.
* Matches for a fragment: the posting list of its rarest gram (the fragment itself up to 3
  characters, else its 3-grams) in rank order, checked; where a common gram's list was cut short,
  `str.find` over `text` carries on after it (a common gram means dense hits: `limit` comes soon).
* Grams (2 and 3 characters) are int codes in one sorted `array('q')`, their postings one
  `array('I')`. A gram on more than `WALK_MAX` names keeps only its first `KEPT` positions (all
  the typo candidates ever read): those long lists would otherwise be most of the memory.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import Any

WALK_MAX = 1000  # a gram on more names keeps only its first KEPT positions; past them, a text scan
FUZZY_CANDIDATES = 600  # at most this many names are checked for typos per query
KEPT = {3: FUZZY_CANDIDATES, 2: 200}  # by gram size: all typo candidates read; twice the options Slack shows

_TOP = "\U0010ffff"
# (gram size, first letter from, to) per indexing pass, in ascending code order: 2-grams, then 3-grams
PASSES = ((2, "\0", _TOP + _TOP), (3, "\0", "a"), (3, "a", "n"), (3, "n", _TOP + _TOP))


_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The words of `text`: runs of letters and digits, lowercased ("Notepad++" → ["notepad"])."""
    return _WORD.findall(text.lower())


def normalise(text: str) -> str:
    """The key: " word word " (see the module's docstring)."""
    return f" {' '.join(words(text))} "


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
            for gram in sorted(postings, key=code):  # no (code, gram) tuples: the collector would scan them
                bucket = postings.pop(gram)
                self.codes.append(code(gram))
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

    def containing(self, q: str, limit: int, keep: Callable[[int], bool] | None = None) -> list[int]:
        """Up to `limit` positions of keys containing `q` (a key fragment), in rank order; with `keep`,
        only the positions it allows (a person's tenants), tested as the scan goes, before the limit."""
        if not q or limit <= 0:
            return []
        return self._infixed(q, limit, keep)

    def count_at_most(self, q: str) -> int:
        """An upper bound of the keys containing `q` (exact for 2–3 characters), from the gram counts."""
        if len(q) < 2:
            return len(self)
        if len(q) <= 3:
            return self._posting(q)[0]
        return min(self._posting(g)[0] for g in grams(q, 3))

    def _infixed(self, q: str, limit: int, keep: Callable[[int], bool] | None = None) -> list[int]:
        text, starts = self.text, self.starts
        found: list[int] = []
        resume = 0  # where a text scan starts: after the positions a posting list covered
        if len(q) >= 2:
            exact = len(q) <= 3  # the posting list of q itself holds exactly the entries containing q
            count, posting = self._posting(q) if exact else min((self._posting(g) for g in grams(q, 3)), key=_count)
            for position in posting:  # rank order already; a slice beats find(q, start, end) on `text`
                key = text[starts[position] : starts[position + 1] - 1]
                if (exact or q in key) and (keep is None or keep(position)):
                    found.append(position)
                    if len(found) >= limit:
                        return found
            if len(posting) == count:  # the whole list: nothing else contains q
                return found
            resume = posting[-1] + 1 if posting else 0
        hit = text.find(q, starts[resume])  # one letter, or a common gram's tail: scan, stop at `limit`
        while hit != -1 and len(found) < limit:
            position = bisect_right(starts, hit) - 1
            if keep is None or keep(position):
                found.append(position)
            hit = text.find(q, starts[position + 1])
        return found

    def typo_candidates(self, fragment: str) -> set[int]:
        """Up to `FUZZY_CANDIDATES` positions of keys sharing a 3-gram with `fragment`, rarest first."""
        candidates: set[int] = set()
        for _, posting in sorted((self._posting(g) for g in grams(fragment, 3)), key=_count):
            room = FUZZY_CANDIDATES - len(candidates)
            if room <= 0:
                break
            candidates.update(posting[:room])
        return candidates


def _count(entry: tuple[int, Sequence[int]]) -> int:
    return entry[0]
