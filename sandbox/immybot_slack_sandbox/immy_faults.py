"""Fault injection and latency for the fake ImmyBot, matched by path pattern (`fnmatch`).

fake.faults.next("/api/v1/software/global", Fault.rate_limited(retry_after="1"))   # once
fake.faults.next("/api/v1/computers/dx", Fault.server_error(), times=2)
fake.faults.always("/api/v1/tenants", Fault.server_error())
fake.faults.on_call("/api/v1/computers/dx", 3, Fault.html())                    # the 3rd call only
fake.faults.latency(0.4)                          # every call answers after 400 ms
fake.faults.latency(0.05, "/api/v1/maintenance-sessions/*")
fake.faults.clear()
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

WEB_APP_HTML = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>ImmyBot</title>'
    '<script type="module" src="/assets/index.js"></script></head><body><div id="app"></div></body></html>'
)


@dataclass(frozen=True)
class Fault:
    status: int
    body: str = ""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def rate_limited(cls, retry_after: str | None = "1") -> Fault:
        headers = (("Retry-After", retry_after),) if retry_after is not None else ()
        return cls(429, '{"error":{"code":"TooManyRequests","message":"Rate limit exceeded"}}', headers=headers)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls(status, '{"error":{"code":"InternalServerError","message":"An unexpected error occurred"}}')

    @classmethod
    def html(cls) -> Fault:
        """What ImmyBot answers for a route it does not have: its web app, status 200."""
        return cls(200, WEB_APP_HTML, content_type="text/html; charset=utf-8")

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls(401, "", headers=(("WWW-Authenticate", 'Bearer error="invalid_token"'),))

    @classmethod
    def forbidden(cls) -> Fault:
        return cls(403, "")


@dataclass
class _Rule:
    pattern: str
    fault: Fault
    times: int | None = None  # None: always
    on_call: int | None = None


@dataclass
class FaultPlan:
    rules: list[_Rule] = field(default_factory=list)
    delays: list[tuple[str, float]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)  # per path, counted on arrival

    def next(self, pattern: str, fault: Fault, times: int = 1) -> None:
        self.rules.append(_Rule(pattern, fault, times=times))

    def always(self, pattern: str, fault: Fault) -> None:
        self.rules.append(_Rule(pattern, fault))

    def on_call(self, pattern: str, n: int, fault: Fault) -> None:
        """Fail the n-th call (1-based, counted from now) of paths matching `pattern`."""
        already = sum(count for path, count in self.calls.items() if fnmatchcase(path, pattern))
        self.rules.append(_Rule(pattern, fault, on_call=already + n))

    def latency(self, seconds: float, pattern: str = "*") -> None:
        self.delays = [(p, s) for p, s in self.delays if p != pattern] + [(pattern, seconds)]

    def clear(self) -> None:
        self.rules.clear()
        self.delays.clear()

    def delay_for(self, path: str) -> float:
        return max((s for p, s in self.delays if fnmatchcase(path, p)), default=0.0)

    def arrive(self, path: str) -> Fault | None:
        """Count the call; the fault to answer with, if any."""
        self.calls[path] += 1
        for rule in list(self.rules):
            if not fnmatchcase(path, rule.pattern):
                continue
            if rule.on_call is not None:
                matching = sum(c for p, c in self.calls.items() if fnmatchcase(p, rule.pattern))
                if matching == rule.on_call:
                    self.rules.remove(rule)
                    return rule.fault
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self.rules.remove(rule)
            return rule.fault
        return None
