"""Reusable fixtures: fake Entra (HTTPS) + fake ImmyBot, settings pointing at them, a ready client.

Exposed to the whole suite by `tests/conftest.py`:

* `immy` — an `ImmySandbox` (`immy.entra`, `immy.immybot`, `immy.env`); the environment holds a
  valid bot configuration (`VALID_ENV`) with every IMMYBOT_* variable and REQUESTS_CA_BUNDLE
  pointing at the fakes.
* `immy_settings` — `Settings` loaded from that environment.
* `fast_retry` — a `RetryPolicy` with millisecond backoff.
* `immy_client` — an `ImmyBotClient(immy_settings, retry=fast_retry)`, closed after the test.
* `openapi_body_validator` — checks a run-immy-service body against openapi.json's
  `RunImmyServiceRequestBody` (skips when ../shared is absent); set it on
  `immy.immybot.body_validator` to make the fake reject invalid bodies with 400.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.immybot.client import ImmyBotClient
from bot.immybot.transport import RetryPolicy
from immybot_slack_sandbox.immy_sandbox import ImmySandbox, immy_sandbox
from tests.conftest import OPENAPI, VALID_ENV

__all__ = [
    "fast_retry", "immy", "immy_client", "immy_settings", "openapi_body_validator", "schema_validator",
    "shared_body_validator",
]


def schema_validator(openapi_path: Path, schema_name: str) -> Callable[[Any], list[str]]:
    """An OAS 3.0 validator for `#/components/schemas/<schema_name>` of the given OpenAPI file."""
    from openapi_schema_validator import OAS30Validator

    spec = json.loads(openapi_path.read_text(encoding="utf-8"))
    validator = OAS30Validator({"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]})

    def errors(body: Any) -> list[str]:
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(body)]

    return errors


@functools.cache
def shared_body_validator() -> Callable[[Any], list[str]] | None:
    """Every fake ImmyBot the suite starts checks run-immy-service bodies against ImmyBot's own OpenAPI
    document when ../shared is checked out (the dedicated schema tests skip, with a reason, without it)."""
    return schema_validator(OPENAPI, "RunImmyServiceRequestBody") if OPENAPI.exists() else None


@pytest.fixture
def openapi_body_validator(openapi_path: Path) -> Callable[[Any], list[str]]:
    return schema_validator(openapi_path, "RunImmyServiceRequestBody")


@pytest.fixture
async def immy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ImmySandbox]:
    async with immy_sandbox(tmp_path, body_validator=shared_body_validator()) as sandbox:
        for key, value in {**VALID_ENV, **sandbox.env}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("IMMYBOT_SUBDOMAIN", raising=False)
        yield sandbox


@pytest.fixture
def immy_settings(immy: ImmySandbox) -> Settings:
    return load_settings()


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return RetryPolicy(attempts=4, base_seconds=0.005, cap_seconds=0.02, max_retry_after=5.0)


@pytest.fixture
async def immy_client(immy_settings: Settings, fast_retry: RetryPolicy) -> AsyncIterator[ImmyBotClient]:
    async with ImmyBotClient(immy_settings, retry=fast_retry) as client:
        yield client
