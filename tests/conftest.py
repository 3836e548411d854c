"""Shared fixtures: a clean environment and the path to the shared reference data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
OPENAPI = SHARED / "immybot" / "openapi.json"
MANIFEST_SCHEMA = SHARED / "slack" / "manifest.schema.json"

# Settings the bot reads; a test sets what it needs and nothing leaks in from the developer's shell.
_BOT_VARS = (
    "SLACK_BOT_TOKEN SLACK_SIGNING_SECRET SLACK_APP_TOKEN SLACK_API_URL IMMYBOT_SUBDOMAIN IMMYBOT_BASE_URL "
    "IMMYBOT_TENANT_ID IMMYBOT_CLIENT_ID IMMYBOT_CLIENT_SECRET IMMYBOT_AUTHORITY_HOST APPROVAL_CHANNEL "
    "APPROVERS ALLOW_SELF_APPROVAL REQUESTERS MAX_TARGETS APPROVAL_TTL_HOURS AUDIT_DB SESSION_POLL_SECONDS "
    "SESSION_MAX_WAIT_HOURS CATALOG_REFRESH_MINUTES PORT LOG_LEVEL LOG_FORMAT "
    "HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy NO_PROXY no_proxy "
    "AUDIT_CHECKPOINT_CHANNEL AUDIT_CHECKPOINT_MINUTES POLICY_FILE RETRY_WINDOW_HOURS "
    "SLACK_CLIENT_ID SLACK_CLIENT_SECRET"
).split()


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in _BOT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is picked up, and files land in tmp
    yield


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (../shared is not checked out beside the repo)")
    return path


@pytest.fixture
def openapi_path() -> Path:
    return require_shared(OPENAPI)


@pytest.fixture
def manifest_schema_path() -> Path:
    return require_shared(MANIFEST_SCHEMA)


VALID_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-test-token",
    "SLACK_SIGNING_SECRET": "signing-secret-for-tests",
    "IMMYBOT_SUBDOMAIN": "acme",
    "IMMYBOT_TENANT_ID": "11111111-2222-3333-4444-555555555555",
    "IMMYBOT_CLIENT_ID": "66666666-7777-8888-9999-000000000000",
    "IMMYBOT_CLIENT_SECRET": "client-secret-value",
    "APPROVAL_CHANNEL": "C0APPROVE",
    "APPROVERS": "U0APPROVER,S0GROUP",
}


@pytest.fixture
def valid_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in VALID_ENV.items():
        monkeypatch.setenv(key, value)
    return dict(VALID_ENV)


from tests.immybot.fixtures import *  # noqa: F403, E402
from tests.slack_fixtures import *  # noqa: E402, F403
