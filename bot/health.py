"""`GET /healthz`: the state of every dependency, as (HTTP status, JSON body).

Components:

* `database`: a cheap read of the audit database (`failing` → 503).
* `slack`: `auth.test`, cached; a rejected token (`invalid_auth`, `not_authed`, `token_revoked`,
  `account_inactive`) → `failing` (503); Slack unreachable → `degraded` (200: the bot is fine, Slack
  is not, and restarting would not help).
* `immybot_token`: can an Entra token for ImmyBot be minted, cached briefly; any failure → `failing` (503).
* `catalog`: age and sizes of the cached software and computer lists. Never fails the check:
  not loaded yet → `loading`; older than three refresh intervals or empty → `degraded`.

The overall `status` is `ok`, `degraded` (still 200) or `failing` (503, `failing` names the components).
Probe errors are reduced to one redacted line: no token or secret reaches the body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.logs import redact

OK, DEGRADED, FAILING, LOADING = "ok", "degraded", "failing", "loading"
SLACK_TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired"})

Probe = Callable[[], Awaitable[Mapping[str, Any] | None]]


class ProbeFailed(Exception):
    """A probe's verdict: `degraded=True` reports the problem without failing the check."""

    def __init__(self, message: str, *, degraded: bool = False) -> None:
        super().__init__(message)
        self.degraded = degraded


@dataclass
class CachedProbe:
    """Runs `probe` at most once per `ok_ttl` seconds after a success (`fail_ttl` after a failure)."""

    probe: Probe
    ok_ttl: float = 60.0
    fail_ttl: float = 5.0
    timeout: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _result: dict[str, Any] | None = field(default=None, init=False)
    _expires: float = field(default=0.0, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def __call__(self) -> dict[str, Any]:
        async with self._lock:
            now = self.clock()
            if self._result is None or now >= self._expires:
                self._result = await run_probe(self.probe, self.timeout)
                ttl = self.ok_ttl if self._result["status"] == OK else self.fail_ttl
                self._expires = now + ttl
                self._result["checked_at_monotonic"] = now
            result = dict(self._result)
            result["age_seconds"] = round(now - result.pop("checked_at_monotonic"), 3)
            return result


async def run_probe(probe: Probe, limit: float) -> dict[str, Any]:
    try:
        async with asyncio.timeout(limit):
            detail = await probe()
    except ProbeFailed as failure:
        return {"status": DEGRADED if failure.degraded else FAILING, "error": redact(str(failure))}
    except TimeoutError:
        return {"status": FAILING, "error": f"no answer within {limit:g} s"}
    except Exception as error:
        message = redact(str(error)).splitlines()[0] if str(error) else ""
        return {"status": FAILING, "error": f"{type(error).__name__}: {message}".rstrip(": ")}
    return {"status": OK, **(dict(detail) if detail else {})}


def catalog_state(catalog: Any, refresh_minutes: float) -> dict[str, Any]:
    """Age and sizes of the cached catalog; `degraded` when stale (3 refresh intervals) or empty."""
    if catalog is None:
        return {"status": LOADING}
    loaded = _read(catalog, "loaded")
    age = _read(catalog, "age_seconds")
    sizes = _read(catalog, "sizes")
    sizes = {str(k): int(v) for k, v in sizes.items()} if isinstance(sizes, Mapping) else {}
    if loaded is False or age is None:
        return {"status": LOADING, "sizes": sizes}
    stale_after = 3 * refresh_minutes * 60
    state: dict[str, Any] = {"status": OK, "age_seconds": round(float(age), 1), "sizes": sizes}
    if float(age) > stale_after:
        state.update(status=DEGRADED, error=f"not refreshed for {float(age):.0f} s (expected every "
                     f"{refresh_minutes * 60:g} s)")
    elif sizes and not any(sizes.values()):
        state.update(status=DEGRADED, error="the software and computer lists are empty")
    return state


def _read(obj: Any, name: str) -> Any:
    value = getattr(obj, name, None)
    return value() if callable(value) else value


@dataclass
class HealthCheck:
    """`await health()` → (200 | 503, body). Mount it as the web layer's `health` callable."""

    database: Probe
    slack: Probe
    immybot_token: Probe
    catalog: Callable[[], Any] = lambda: None
    refresh_minutes: float = 15.0
    database_timeout: float = 3.0

    def __post_init__(self) -> None:
        self._slack = self.slack if isinstance(self.slack, CachedProbe) else CachedProbe(self.slack, ok_ttl=60)
        token = self.immybot_token
        self._token = token if isinstance(token, CachedProbe) else CachedProbe(token, ok_ttl=30)

    async def __call__(self) -> tuple[int, dict[str, Any]]:
        database, slack, token = await asyncio.gather(
            run_probe(self.database, self.database_timeout), self._slack(), self._token()
        )
        components = {
            "database": database,
            "slack": slack,
            "immybot_token": token,
            "catalog": catalog_state(self.catalog(), self.refresh_minutes),
        }
        return summarize(components)


def summarize(components: dict[str, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    failing = sorted(name for name, state in components.items() if state["status"] == FAILING)
    degraded = any(state["status"] in (DEGRADED, LOADING) for state in components.values())
    status = FAILING if failing else DEGRADED if degraded else OK
    body: dict[str, Any] = {"status": status, "components": components}
    if failing:
        body["failing"] = failing
    return (503 if failing else 200), body


# ---- probes for the real dependencies ---------------------------------------------------------------


def store_probe(store: Any, *, backend: str = "sqlite", leases: Any = None) -> Probe:
    """A cheap read through the store's own connection (`schema_version()`); with replicas (SPEC §9),
    also this replica's name and how many session leases it holds."""

    async def probe() -> Mapping[str, Any]:
        found: dict[str, Any] = {"backend": backend, "schema_version": await store.schema_version()}
        if leases is not None and leases.shared:
            found |= {"replica": leases.owner, "leases": await leases.held()}
        return found

    return probe


def slack_probe(client: Any) -> Probe:
    """`auth.test` with the bot token: rejected token → failing, anything else → degraded."""

    async def probe() -> Mapping[str, Any]:
        from slack_sdk.errors import SlackApiError

        try:
            answer = await client.auth_test()
        except SlackApiError as error:
            code = str(error.response.get("error", "unknown")) if error.response is not None else "unknown"
            raise ProbeFailed(f"auth.test: {code}", degraded=code not in SLACK_TOKEN_ERRORS) from None
        except Exception as error:
            raise ProbeFailed(f"Slack unreachable: {type(error).__name__}", degraded=True) from None
        return {"team": answer.get("team"), "bot_user": answer.get("user_id")}

    return probe


def token_probe(provider: Any) -> Probe:
    """Mint (or reuse msal's cached) ImmyBot token; the token itself is never reported."""

    async def probe() -> None:
        await provider.token()
        return None

    return probe
