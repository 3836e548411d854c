"""DATABASE_URL and LEASE_SECONDS, and the test rig's own rule: skip without a server, fail in CI."""

from __future__ import annotations

import pytest

from bot.config import SettingsError, StoreSettings, load_settings
from tests import pg_server


@pytest.mark.usefixtures("valid_env")
def test_database_url_and_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.database_url is None and settings.lease_seconds == 30
    monkeypatch.setenv("DATABASE_URL", "postgres://bot:s3cret@db.example:5432/immybot")
    monkeypatch.setenv("LEASE_SECONDS", "2.5")
    settings = load_settings()
    assert settings.database_url is not None and settings.lease_seconds == 2.5
    assert "s3cret" not in repr(settings) and StoreSettings().database_url is not None
    monkeypatch.setenv("DATABASE_URL", "")
    assert load_settings().database_url is None


@pytest.mark.usefixtures("valid_env")
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysql://bot:s3cret@db/immybot", "DATABASE_URL: must be a postgresql:// URL"),
        ("postgresql://bot:s3cret@db:port/immybot", "DATABASE_URL: the port is not a number"),
        ("postgresql://bot:s3cret@db", "DATABASE_URL: name the database in the URL path"),
    ],
)
def test_bad_database_url_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text and "s3cret" not in text


@pytest.mark.usefixtures("valid_env")
def test_lease_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEASE_SECONDS", "0")
    with pytest.raises(SettingsError, match=r"^LEASE_SECONDS"):
        load_settings()


def test_no_server_binaries_is_a_skip_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_server, "_bin_dir", lambda: None)
    server, reason = pg_server.start_server()
    assert server is None and "apt-get install postgresql" in reason
