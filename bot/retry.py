"""The one retry helper (tenacity): exponential backoff with full jitter, a cap, a stop, `Retry-After`.

    policy = RetryPolicy(attempts=4, base_seconds=0.5, cap_seconds=10)
    answer = await retry_call(fetch, policy, retry_if=lambda e: isinstance(e, Unavailable))

- the wait before retry n (from 0) is uniform in [0, min(cap, base·2^n)] (full jitter), or exactly
  min(cap, base·2^n) with `jitter=False`;
- a server's hint (`error.retry_after`, seconds) replaces the backoff; a hint above `max_retry_after`
  is not waited for: the error is raised at once;
- `attempts=None` retries until the call succeeds or the task is cancelled;
- the last error is raised as is (never wrapped), and `CancelledError` always passes through.

The ImmyBot transport, the starter, the follower, the reporter, summary recovery, the store's
`BEGIN IMMEDIATE`, the catalog's first load and the checkpoint poster all retry through it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, stop_never

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int | None = 4  # calls in all, the first included; None: until it works
    base_seconds: float = 0.5
    cap_seconds: float = 10.0
    max_retry_after: float | None = 60.0  # a longer server hint is not waited for
    jitter: bool = True

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt `attempt` (counting from 0)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** min(attempt, 64))
        return random.uniform(0.0, ceiling) if self.jitter else ceiling


def retry_after(error: BaseException) -> float | None:
    """The server's hint carried by the error (`retry_after`, seconds), if any."""
    hint = getattr(error, "retry_after", None)
    return float(hint) if isinstance(hint, int | float) else None


def _any(error: BaseException) -> bool:
    return isinstance(error, Exception)


async def retry_call(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    retry_if: Callable[[BaseException], bool] = _any,
    on_retry: Callable[[int, BaseException, float], object] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> T:
    """`await call()`, retried per `policy` while `retry_if(error)`; `on_retry(attempt, error, wait)` runs
    before each wait (logging, a once-only notice; it may be a coroutine function)."""

    def should_retry(state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if error is None or isinstance(error, asyncio.CancelledError) or not retry_if(error):
            return False
        hint = retry_after(error)
        return policy.max_retry_after is None or hint is None or hint <= policy.max_retry_after

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hint = retry_after(error) if error is not None else None
        return hint if hint is not None else policy.backoff(state.attempt_number - 1)

    async def before_sleep(state: RetryCallState) -> None:
        if on_retry is None or state.outcome is None or state.next_action is None:
            return
        result = on_retry(state.attempt_number, state.outcome.exception(), state.next_action.sleep)
        if asyncio.iscoroutine(result):
            await result

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts) if policy.attempts is not None else stop_never,
        wait=wait,
        retry=should_retry,
        before_sleep=before_sleep,
        reraise=True,
        sleep=sleep or asyncio.sleep,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable")  # pragma: no cover - reraise=True raises the last error
