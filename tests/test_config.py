from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings


def test_valid_settings_and_derived_values(valid_env: dict[str, str]) -> None:
    s = load_settings()
    assert s.base_url == "https://acme.immy.bot"
    assert s.immybot_scope == "https://acme.immy.bot/.default"
    assert s.authority == "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555"
    assert s.instance_discovery is True
    assert s.approver_users == {"U0APPROVER"} and s.approver_groups == {"S0GROUP"}
    assert s.max_targets == 25 and s.approval_ttl_hours == 24 and s.socket_mode is False
    assert s.slack_api_url == "https://slack.com/api/"


def test_base_url_overrides_subdomain_and_fake_authority(valid_env, monkeypatch) -> None:
    monkeypatch.setenv("IMMYBOT_BASE_URL", "https://immy.example.test/")
    monkeypatch.setenv("IMMYBOT_AUTHORITY_HOST", "https://127.0.0.1:8443")
    s = load_settings()
    assert s.base_url == "https://immy.example.test"
    assert s.instance_discovery is False


def test_fractional_durations(valid_env, monkeypatch) -> None:
    monkeypatch.setenv("APPROVAL_TTL_HOURS", "0.001")
    monkeypatch.setenv("SESSION_POLL_SECONDS", "0.2")
    s = load_settings()
    assert s.approval_ttl_hours * 3600 == pytest.approx(3.6)
    assert s.session_poll_seconds == 0.2


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("APPROVERS", "U0OK,bob", "APPROVERS: 'bob' is not a Slack user"),
        ("APPROVERS", "", "APPROVERS"),
        ("REQUESTERS", "C123", "REQUESTERS: 'C123'"),
        ("SLACK_BOT_TOKEN", "xoxp-user", "SLACK_BOT_TOKEN: must be a bot token"),
        ("SLACK_APP_TOKEN", "xoxb-nope", "SLACK_APP_TOKEN: must be an app-level token"),
        ("MAX_TARGETS", "lots", "MAX_TARGETS"),
        ("MAX_TARGETS", "0", "MAX_TARGETS"),
        ("APPROVAL_TTL_HOURS", "-1", "APPROVAL_TTL_HOURS"),
        ("SESSION_POLL_SECONDS", "0.01", "SESSION_POLL_SECONDS"),
        ("IMMYBOT_TENANT_ID", "not a tenant", "IMMYBOT_TENANT_ID"),
        ("IMMYBOT_CLIENT_ID", "abc", "IMMYBOT_CLIENT_ID: 'abc' is not an application (client) ID GUID"),
        ("IMMYBOT_AUTHORITY_HOST", "http://login", "IMMYBOT_AUTHORITY_HOST"),
        ("APPROVAL_CHANNEL", "#general", "APPROVAL_CHANNEL"),
        ("ALLOW_SELF_APPROVAL", "perhaps", "ALLOW_SELF_APPROVAL"),
        ("PORT", "99999", "PORT"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT"),
    ],
)
def test_malformed_setting_names_the_variable(valid_env, monkeypatch, name, value, fragment) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["SLACK_BOT_TOKEN", "IMMYBOT_TENANT_ID", "IMMYBOT_CLIENT_SECRET", "APPROVAL_CHANNEL"])
def test_missing_required(valid_env, monkeypatch, name) -> None:
    monkeypatch.delenv(name)
    with pytest.raises(SettingsError, match=f"^{name}: required but not set$"):
        load_settings()


def test_missing_instance(valid_env, monkeypatch) -> None:
    monkeypatch.delenv("IMMYBOT_SUBDOMAIN")
    with pytest.raises(SettingsError, match="IMMYBOT_SUBDOMAIN"):
        load_settings()


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    from tests.conftest import VALID_ENV

    (tmp_path / ".env").write_text("\n".join(f"{k}={v}" for k, v in VALID_ENV.items()) + "\nMAX_TARGETS=7\n")
    assert load_settings().max_targets == 7


def test_mode_requirements(valid_env, monkeypatch) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    s = load_settings()
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        s.require_mode(socket=False)
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN"):
        s.require_mode(socket=True)


def test_secrets_never_in_repr(valid_env) -> None:
    s = load_settings()
    assert "client-secret-value" not in repr(s)
    assert "xoxb-test-token" not in repr(s)


def test_cli_settings_error_is_one_line_exit_2(valid_env, monkeypatch) -> None:
    monkeypatch.setenv("APPROVERS", "nobody")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--http"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "immybot-slack: settings error: APPROVERS: 'nobody' is not a Slack user (U…, W…) or user group (S…) ID"
    ]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("url", ["http://immy.example.test", "http://10.0.0.5:8080", "http://[::ffff:127.0.0.1]:80",
                                 "http://127.0.0.1.nip.io", "ftp://immy.example.test"])
def test_immybot_base_url_must_be_https_off_loopback(valid_env, monkeypatch, url: str) -> None:
    """Issue 10 item 4: the bearer token never crosses a network in clear text."""
    monkeypatch.setenv("IMMYBOT_BASE_URL", url)
    with pytest.raises(SettingsError, match=r"^IMMYBOT_BASE_URL: ") as info:
        load_settings()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://127.9.8.7", "http://[::1]:3000",
                                 "http://localhost:8080", "https://immy.example.test"])
def test_loopback_may_use_plain_http(valid_env, monkeypatch, url: str) -> None:
    monkeypatch.setenv("IMMYBOT_BASE_URL", url)
    assert load_settings().base_url == url


def test_slack_api_url_follows_the_same_rule(valid_env, monkeypatch) -> None:
    monkeypatch.setenv("SLACK_API_URL", "http://slack-proxy.example.test/api/")
    with pytest.raises(SettingsError, match=r"^SLACK_API_URL: .* must be https://"):
        load_settings()
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:8080/api/")
    assert load_settings().slack_api_url == "http://127.0.0.1:8080/api/"


def test_requests_per_hour(valid_env, monkeypatch) -> None:
    assert load_settings().requests_per_hour == 30
    monkeypatch.setenv("REQUESTS_PER_HOUR", "5")
    assert load_settings().requests_per_hour == 5
    monkeypatch.setenv("REQUESTS_PER_HOUR", "0")
    with pytest.raises(SettingsError, match=r"^REQUESTS_PER_HOUR: "):
        load_settings()


def test_plain_http_immybot_stops_start_up_naming_the_variable(valid_env, monkeypatch) -> None:
    monkeypatch.setenv("IMMYBOT_BASE_URL", "http://immy.example.test")
    proc = subprocess.run([sys.executable, "-m", "bot", "run", "--http"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["immybot-slack: settings error: IMMYBOT_BASE_URL: "
                                                "'http://immy.example.test' must be https:// (plain http is "
                                                "allowed only for a loopback host)"]


def test_audit_checkpoint_settings(valid_env, monkeypatch) -> None:
    s = load_settings()
    assert (s.checkpoint_channel, s.audit_checkpoint_minutes) == (s.approval_channel, 60)  # SPEC §10 defaults
    monkeypatch.setenv("AUDIT_CHECKPOINT_CHANNEL", " G0AUDIT ")
    monkeypatch.setenv("AUDIT_CHECKPOINT_MINUTES", "0.5")
    s = load_settings()
    assert (s.checkpoint_channel, s.audit_checkpoint_minutes * 60) == ("G0AUDIT", 30)
    for name, value in (("AUDIT_CHECKPOINT_CHANNEL", "#audit"), ("AUDIT_CHECKPOINT_MINUTES", "0")):
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError, match=name):
            load_settings()
        monkeypatch.delenv(name)
