"""A small fuzz of `POST /slack/events` over real HTTP: random and truncated bodies, headers and content types.

Never a 5xx. Without a valid signature, never a change: no Slack Web API call, no audit row.
Bounded for CI (`FUZZ_EXAMPLES`, default 60 per test); derandomized (a fixed seed) when `CI=true`.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immybot_slack_sandbox import slack_payloads as p
from tests.slack_e2e.conftest import APPROVE, SECRET, World
from tests.slack_e2e.rawhttp import post_raw, sign

pytestmark = pytest.mark.asyncio(loop_scope="module")

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CONTENT_TYPES = [b"application/x-www-form-urlencoded", b"application/json", b"text/plain", b"multipart/form-data",
                 b"application/x-www-form-urlencoded; charset=utf-8", b"application/json; charset=latin-1", b""]
# Header values may hold any byte but CR, LF and NUL (those would end the header, not fuzz it).
header_bytes = st.binary(max_size=200).map(lambda b: b.translate(None, b"\r\n\x00"))


def real_bodies(world: World) -> list[tuple[bytes, bytes]]:
    """Genuine Slack deliveries (body, content type): the raw material for truncation."""
    fake, ws = world.fake, world.ws
    user = p.user_ref(fake, ws.requester)
    # Fixed ids, not minted ones: hypothesis needs the same material on every run of an example.
    command = urlencode({"command": "/immy", "text": "", "user_id": ws.requester, "channel_id": ws.ops_channel,
                         "trigger_id": "13345224609.738474920.8088930838d88f008e0", "team_id": fake.team_id,
                         "response_url": fake.api_url.replace("/api/", "/webhook/") + "fuzz"})
    suggestion = {**p.base(fake), "type": "block_suggestion", "user": user, "action_id": "software",
                  "block_id": "software", "value": "chr", "container": {"type": "view", "view_id": "V1"},
                  "view": {"id": "V1", "callback_id": "request"}}
    action = {**p.base(fake), "type": "block_actions", "user": user, "trigger_id": "13345224609.1.fuzz",
              "container": {"type": "message", "message_ts": "1.000001", "channel_id": ws.approval_channel},
              "actions": [{"action_id": APPROVE, "block_id": "decide", "value": "1", "action_ts": "1.2"}]}
    event = {**p.base(fake), "type": "event_callback", "event_id": "Ev1",
             "event": {"type": "app_home_opened", "user": ws.requester, "tab": "home"}}
    form = b"application/x-www-form-urlencoded"
    return [(command.encode(), form),
            (urlencode({"payload": json.dumps(suggestion)}).encode(), form),
            (urlencode({"payload": json.dumps(action)}).encode(), form),
            (json.dumps(event).encode(), b"application/json")]


@st.composite
def deliveries(draw: st.DrawFn, originals: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """A body and content type: random bytes, or a real delivery cut short, or one with bytes flipped."""
    kind = draw(st.sampled_from(["random", "truncated", "mutated"]))
    if kind == "random":
        return draw(st.binary(max_size=2048)), draw(st.sampled_from(CONTENT_TYPES) | header_bytes)
    body, content_type = draw(st.sampled_from(originals))
    if kind == "truncated":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    else:
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at + 1 :]
    return body, draw(st.sampled_from([content_type, *CONTENT_TYPES]))


@st.composite
def bad_signatures(draw: st.DrawFn, body: bytes) -> list[tuple[bytes, bytes]]:
    """Signature and timestamp headers that do not sign `body` with our secret (or are missing)."""
    now = str(int(time.time()))
    kind = draw(st.sampled_from(["missing", "garbage", "other-secret", "other-body", "stale"]))
    if kind == "missing":
        return []
    if kind == "garbage":
        return [(b"x-slack-request-timestamp", draw(header_bytes | st.just(now.encode()))),
                (b"x-slack-signature", draw(header_bytes))]
    if kind == "other-secret":
        ts, signature = sign("not-" + SECRET, body)
    elif kind == "other-body":
        ts, signature = sign(SECRET, body + b"x")
    else:
        ts, signature = sign(SECRET, body, str(int(time.time()) - draw(st.integers(301, 10**9))))
    return [(b"x-slack-request-timestamp", ts.encode()), (b"x-slack-signature", signature.encode())]


async def _post(world: World, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    return (await post_raw(world.bot.url + "/slack/events", headers, body)).status


@FUZZ
@given(data=st.data())
async def test_unsigned_or_badly_signed_deliveries_change_nothing(world: World, data: st.DataObject) -> None:
    body, content_type = data.draw(deliveries(real_bodies(world)))
    headers = [(b"content-type", content_type), *data.draw(bad_signatures(body))]
    calls, rows = len(world.fake.calls()), len(await world.audit())
    status = await _post(world, headers, body)
    assert status in (400, 401), (status, headers, body[:200])  # 400: the HTTP parser refused the headers
    await asyncio.sleep(0.02)  # anything Bolt would have started after an ack
    assert len(world.fake.calls()) == calls
    assert len(await world.audit()) == rows


@FUZZ
@given(data=st.data())
async def test_signed_garbage_never_gets_a_5xx(world: World, data: st.DataObject) -> None:
    body, content_type = data.draw(deliveries(real_bodies(world)))
    ts, signature = sign(SECRET, body)
    extra: list[tuple[bytes, bytes]] = data.draw(st.lists(st.tuples(
        st.sampled_from([b"x-slack-retry-num", b"x-slack-retry-reason", b"content-encoding", b"x-forwarded-for"]),
        header_bytes), max_size=2))
    headers = [(b"content-type", content_type), (b"x-slack-request-timestamp", ts.encode()),
               (b"x-slack-signature", signature.encode()), *extra]
    status = await _post(world, headers, body)
    assert status < 500, (status, headers, body[:200])
