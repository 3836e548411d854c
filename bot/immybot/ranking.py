"""Typeahead ranking: what a person expects from a search box, over a `SearchIndex`.

Rules, in order of weight (`score`):

1. The exact name (words compared, so "7zip", "7 zip" and "7-Zip" are the same name).
2. The query as typed, punctuation included: the name itself, then names holding it ("notepad++"
   is "Notepad++" before "Notepad", "notepad" the other way round; "c++" finds "Visual C++"
   before other words starting with c).
3. The query as a phrase: its words in that order, next to each other ("o-lt" in "CONTOSO-LT-…",
   "pdf 24" in "PDF24 Creator"), before names that hold the words apart or in another order.
4. How each query word matches the name: a whole word, then the start of a word, then inside a
   word, then a typo (1 edit in words of 4–5 letters, 2 from 6, none in numbers; a transposition
   is one edit).
   The name's class is its worst word's; then the sum over the words.
5. The shorter name (the index's rank: shorter, alphabetical, then the caller's tiebreaks).

A name with a query word it matches in none of these ways is never offered. Every word of a
multi-word query must match, in any order ("reader acrobat" finds "Adobe Acrobat Reader DC").

Cost: candidates come from the index in rank order, a bounded number per probe (a one-word query stops
at the first probe that fills the limit), and only the candidates are scored; a one-word query's
letters across two of a name's words, then typo candidates, are read only when fewer than `limit`
names were found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from bot.immybot.search_index import SearchIndex, words

ANCHOR_MAX = 500  # multi-word queries: at most this many names holding the rarest word are scored
WHOLE, PREFIX, INSIDE, TYPO = range(4)
_PLAUSIBLE = {1: 60.0, 2: 50.0}  # partial_ratio below this: no token within the typo budget (a pre-check)


def typo_budget(word: str) -> int:
    """Edits a word may be off by: none up to 3 letters (too many near misses), 1 up to 5, then 2;
    none in a number (2013 is not a typo of 2015, nor 0042 of 0043)."""
    return 0 if len(word) <= 3 or word.isdigit() else 1 if len(word) <= 5 else 2


def word_class(word: str, key: str, joined: str, typos: int) -> int | None:
    """How `word` matches the key " w1 w2 … " (WHOLE … TYPO), or None: not at all. `joined` is the key
    without its spaces: "lt0042" is inside "contosolt0042"."""
    if f" {word} " in key:
        return WHOLE
    if f" {word}" in key:
        return PREFIX
    if word in joined:
        return INSIDE
    if typos and fuzz.partial_ratio(word, key, score_cutoff=_PLAUSIBLE[typos]):  # cheap, lenient: then exact
        size = len(word)
        for token in key.split():
            if OSA.distance(word, token, score_cutoff=typos) <= typos:
                return TYPO
            if len(token) > size and OSA.distance(word, token[: size + 1], score_cutoff=typos) <= typos:
                return TYPO  # a typo in a word still being typed ("chrme" → "chrome …")
    return None


def score(key: str, query_words: Sequence[str], budgets: Sequence[int], phrase: str) -> tuple[int, ...] | None:
    """The sort key of a name for the query (lower is better), or None when a word does not match.

    `phrase`: the query's words between single spaces. One word typed without spaces ("7zip",
    "lt0042") is a phrase wherever its letters follow each other in the name, punctuation aside."""
    joined = key.replace(" ", "")
    worst = total = 0
    for word, typos in zip(query_words, budgets, strict=True):
        found = word_class(word, key, joined, typos)
        if found is None:
            return None
        worst, total = max(worst, found), total + found
    compact = phrase.replace(" ", "")
    if len(query_words) == 1:
        in_a_row = compact in joined
    else:  # "pdf 24" in "PDF24 Creator", not "e e" in "Veeam Editor": joined letters from a word's start
        in_a_row = phrase in key or (compact in joined and _from_a_word_start(key, joined, compact))
    return (joined != compact, not in_a_row, worst, total)


def _from_a_word_start(key: str, joined: str, compact: str) -> bool:
    starts, offset = set(), 0
    for token in key.split():
        starts.add(offset)
        offset += len(token)
    hit = joined.find(compact)
    while hit != -1 and hit not in starts:
        hit = joined.find(compact, hit + 1)
    return hit != -1


def _containing(index: SearchIndex, probe: str, limit: int, keep: Callable[[int], bool] | None) -> list[int]:
    return index.containing(probe, limit) if keep is None else index.containing(probe, limit, keep)


def ranked_search(
    index: SearchIndex,
    query: str,
    limit: int,
    names: Sequence[str] | None = None,
    keep: Callable[[int], bool] | None = None,
) -> list[int]:
    """Positions of the names matching `query`, best first (the rules above), at most `limit`.

    `names[position]`: the names as shown, for rule 2 (without them, rule 2 is skipped). `keep`: only
    the positions it allows (a person's tenants), filtered before the limit."""
    query_words = words(query)
    if limit <= 0:
        return []
    if not query_words:  # nothing typed: the first names; punctuation alone ("(", "|"): where it is
        typed = " ".join(query.lower().split())
        held: Iterable[int] = range(len(index)) if not typed else _holding(typed, names or ())
        if keep is not None:
            held = filter(keep, held)
        return list(islice(held, limit))
    budgets = [typo_budget(w) for w in query_words]
    phrase = " ".join(query_words)
    candidates: dict[int, None] = {}  # insertion-ordered, each position once
    # One word typed as it is (no punctuation): each name a probe finds ranks above every name only a
    # later probe finds (whole word, then word start, then inside; all hold what was typed), and each
    # probe's names come in rank order: once one probe fills `limit`, the later ones change nothing.
    tiered = len(query_words) == 1 and "".join(query.lower().split()) == phrase
    for probe in (f" {phrase} ", f" {phrase}", phrase):  # the phrase: whole, at a word start, anywhere
        hits = _containing(index, probe, limit, keep)
        candidates.update(dict.fromkeys(hits))
        if tiered and len(hits) >= limit:
            break
    if len(query_words) > 1 and len(candidates) < limit:  # the words apart, in any order: the names
        for word in sorted(query_words, key=lambda w: index.count_at_most(f" {w}")):  # of the rarest word found
            hits = _containing(index, f" {word}", ANCHOR_MAX, keep) or _containing(index, word, ANCHOR_MAX, keep)
            if hits:  # (a word with a typo finds nothing: the next one anchors)
                candidates.update(dict.fromkeys(hits))
                break
    if len(query_words) == 1 and len(candidates) < limit:  # the word across two of the name's words:
        for cut in range(1, len(phrase)):  # "kam" in "Tanaka-MBP" (" tanaka mbp "): "ka m"
            candidates.update(dict.fromkeys(_containing(index, f"{phrase[:cut]} {phrase[cut:]}", limit, keep)))
    found = _scored(index, candidates, query_words, budgets, phrase)
    if len(found) < limit and any(budgets):  # typos: names sharing a 3-gram with a word
        fresh: dict[int, None] = {}
        for word, typos in zip(query_words, budgets, strict=True):
            if typos:
                fresh.update(dict.fromkeys(p for p in index.typo_candidates(f" {word} ") if keep is None or keep(p)))
        found += _scored(index, {p: None for p in fresh if p not in candidates}, query_words, budgets, phrase)
    if names is not None:  # rule 2, right after the exact name
        typed = "".join(query.lower().split())
        found = [(exact, _as_typed(typed, names[p]), *rest, p) for exact, *rest, p in found]
    found.sort()
    return [position for *_, position in found[:limit]]


def _holding(typed: str, names: Sequence[str]) -> Iterator[int]:
    if " " not in typed:  # the common case, and the cheap test: no spacing to compare
        return (p for p, name in enumerate(names) if typed in name.lower())
    return (p for p, name in enumerate(names) if typed in " ".join(name.lower().split()))


def _as_typed(typed: str, name: str) -> int:
    """0: the name is what was typed (case and spacing aside), 1: it holds what was typed, 2: neither."""
    shown = "".join(name.lower().split())
    return 0 if shown == typed else 1 if typed in shown else 2


def _scored(
    index: SearchIndex, positions: dict[int, None], query_words: Sequence[str], budgets: Sequence[int], phrase: str
) -> list[tuple[int, ...]]:
    text, starts = index.text, index.starts
    out: list[tuple[int, ...]] = []
    for position in positions:
        ranked = score(text[starts[position] : starts[position + 1] - 1], query_words, budgets, phrase)
        if ranked is not None:
            out.append((*ranked, position))
    return out
