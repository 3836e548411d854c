"""bot/retry.py: the one retry helper — backoff with a cap, the server's Retry-After, a stop, no retry of
what must not be retried. Waits are recorded through the helper's `sleep` seam (nothing sleeps)."""

from __future__ import annotations

import asyncio

import pytest

from bot.retry import RetryPolicy, retry_call


class Flaky(Exception):
    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("flaky")
        self.retry_after = retry_after


def failing(times: int, error: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "ok"

    return calls, call


async def test_backoff_doubles_up_to_the_cap_then_succeeds() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    calls, call = failing(5, Flaky())
    policy = RetryPolicy(attempts=None, base_seconds=1.0, cap_seconds=4.0, jitter=False)
    assert await retry_call(call, policy, sleep=sleep) == "ok"  # type: ignore[arg-type]
    assert waits == [1.0, 2.0, 4.0, 4.0, 4.0] and len(calls) == 6


async def test_full_jitter_stays_under_the_ceiling() -> None:
    policy = RetryPolicy(base_seconds=1.0, cap_seconds=3.0)
    assert all(0.0 <= policy.backoff(n) <= min(3.0, 2.0**n) for n in range(10) for _ in range(20))


async def test_retry_after_replaces_the_backoff_and_a_long_one_is_not_waited_for() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    _, call = failing(1, Flaky(retry_after=7.0))
    assert await retry_call(call, RetryPolicy(max_retry_after=10.0), sleep=sleep) == "ok"  # type: ignore[arg-type]
    assert waits == [7.0]
    calls, call = failing(1, Flaky(retry_after=120.0))
    with pytest.raises(Flaky):
        await retry_call(call, RetryPolicy(max_retry_after=10.0), sleep=sleep)  # type: ignore[arg-type]
    assert len(calls) == 1


async def test_it_stops_after_the_attempts_and_raises_the_last_error_unwrapped() -> None:
    seen: list[int] = []
    calls, call = failing(10, Flaky())
    with pytest.raises(Flaky):
        await retry_call(call, RetryPolicy(attempts=3, base_seconds=0.0, cap_seconds=0.0),  # type: ignore[arg-type]
                         on_retry=lambda attempt, error, wait: seen.append(attempt))
    assert len(calls) == 3 and seen == [1, 2]


async def test_what_must_not_be_retried_is_raised_at_once() -> None:
    calls, call = failing(1, ValueError("refused"))
    with pytest.raises(ValueError):
        await retry_call(call, RetryPolicy(base_seconds=0.0), retry_if=lambda e: isinstance(e, Flaky))  # type: ignore[arg-type]
    calls2, call2 = failing(1, asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await retry_call(call2, RetryPolicy(base_seconds=0.0))  # type: ignore[arg-type]
    assert len(calls) == 1 and len(calls2) == 1
