"""Issue 16: the pieces of the typeahead's short way through the HTTP door, on their own.

`form_payload` must decode exactly as `urllib.parse` (what Bolt uses) or step aside; `AnswerCache`
must never serve an answer rendered from tables no longer searched.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, quote_plus

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.requests.answers import AnswerCache, encode_option, encode_options
from bot.web import form_payload

ODD = ["%", "%z", "%%", "%4", "%%41", "%a", "%G1", "=", "&", "+", "\r\n", "%3D", "%2B", "%e2%82%ac", "%E2%82"]


def _urllib(body: bytes) -> str | None:
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)).get("payload")


@given(text=st.text(), encoding=st.sampled_from(["plus", "percent", "lower"]),
       odd=st.sampled_from(["", *ODD]), where=st.integers(min_value=0))
def test_form_payload_decodes_as_urllib_or_steps_aside(text: str, encoding: str, odd: str, where: int) -> None:
    encoded = {"plus": quote_plus(text), "percent": quote(text, safe=" "),
               "lower": "".join(c.lower() if c in "ABCDEF" else c for c in quote(text, safe=""))}[encoding]
    where %= len(encoded) + 1
    body = ("payload=" + encoded[:where] + odd + encoded[where:]).encode()
    decoded = form_payload(body)
    assert decoded is None or decoded == _urllib(body)
    if not odd:
        assert decoded == text  # plain Slack bodies take the short way


def test_form_payload_leaves_other_bodies_to_urllib() -> None:
    assert form_payload(b"command=%2Fimmy&text=") is None
    assert form_payload(b'{"type": "event_callback"}') is None
    assert form_payload(b"payload=%7B%7D&x=1") is None
    assert form_payload(b"payload=%7B%7D") == "{}"


def test_answers_are_kept_for_one_catalog_version_only() -> None:
    cache = AnswerCache(size=2)
    assert cache.get(1, ("software", "chr")) is None
    cache.put(1, ("software", "chr"), b"a")
    assert cache.get(1, ("software", "chr")) == b"a"
    assert cache.get(2, ("software", "chr")) is None  # a refresh swapped the tables: all dropped
    assert cache.get(2, ("software", "chr")) is None and len(cache) == 0
    cache.put(1, ("software", "chr"), b"old")  # rendered before the swap, finished after it: not kept
    assert cache.get(2, ("software", "chr")) is None
    for query in ("a", "b", "c"):
        cache.put(2, ("software", query), query.encode())
    assert len(cache) == 2 and cache.get(2, ("software", "a")) is None  # the oldest went first


def test_encoded_answers_are_what_json_gives() -> None:
    import json

    options = [{"text": {"emoji": True, "text": "7-Zip “x” · Global", "type": "plain_text"}, "value": "Global:1"}] * 2
    assert encode_options(encode_option(o) for o in options) == json.dumps({"options": options}).encode()
    assert encode_options([]) == json.dumps({"options": []}).encode()
