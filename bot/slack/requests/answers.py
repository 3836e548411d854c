"""The typeahead's answers, encoded once and reused while the catalog stays the same.

Technicians type the same beginnings ("ch", "chr", "chro") over and over, in one modal and across
people: an options load whose answer was already rendered is served from `AnswerCache`, the JSON
bytes Slack gets, without searching, labelling or encoding again.

What the key holds decides who may see a cached answer, so it holds everything the answer depends
on: the field, the query exactly as searched, and the caller's tenant scope (SPEC §6: a technician
scoped to some tenants never gets an answer rendered for someone with other tenants or all of them).
The gates (REQUESTERS, the policy's scopes) run on every load before the cache is asked. Answers are
kept for one catalog `version` only: the first load after a swap (a refresh, a partial first load)
drops them all at once.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Hashable, Iterable

ANSWER_CACHE_SIZE = 512  # ~10 kB an answer of 100 options: ~5 MB at most
EMPTY_OPTIONS = b'{"options": []}'


class AnswerCache:
    """A small LRU of encoded answers, valid for one catalog version."""

    def __init__(self, size: int = ANSWER_CACHE_SIZE) -> None:
        self._size = size
        self._version: int | None = None
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, version: int, key: Hashable) -> bytes | None:
        if version != self._version:
            self._version = version
            self._answers.clear()
            return None
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    def put(self, version: int, key: Hashable, answer: bytes) -> None:
        if version != self._version:  # rendered from tables that are no longer searched
            return
        self._answers[key] = answer
        if len(self._answers) > self._size:
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)


def encode_options(fragments: Iterable[bytes]) -> bytes:
    """`{"options": [...]}` from options already encoded one by one (as `json.dumps` writes it)."""
    return b'{"options": [' + b", ".join(fragments) + b"]}"


def encode_option(option: dict) -> bytes:
    return json.dumps(option).encode()
