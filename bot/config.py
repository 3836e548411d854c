"""Settings: every variable of SPEC section 2, read from the environment or `.env`, validated once.

`load_settings()` is the only entry point. A missing or malformed value raises `SettingsError`
whose message is one line naming the variable; the CLI prints it and exits 2.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.setting_values import check_database_url, split_ids, tls_off_loopback

_SLACK_USER_OR_GROUP = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

# Microsoft's own authority hosts: msal's instance discovery stays on for these only.
KNOWN_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
        "login.windows.net",
        "login.microsoft.com",
        "login.sts.microsoft.com",
    }
)

CommaList = Annotated[tuple[str, ...], NoDecode]


class SettingsError(Exception):
    """A setting is missing or malformed. `str(err)` is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        frozen=True,
    )

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    immybot_subdomain: str | None = None
    immybot_base_url: str | None = None
    immybot_tenant_id: str
    immybot_client_id: str
    immybot_client_secret: SecretStr
    immybot_authority_host: str = "https://login.microsoftonline.com"

    approval_channel: str
    approvers: CommaList
    allow_self_approval: bool = False
    requesters: CommaList = ()
    max_targets: int = Field(default=25, ge=1, le=1000)
    requests_per_hour: int = Field(default=30, ge=1)
    approval_ttl_hours: float = Field(default=24.0, gt=0)
    retry_window_hours: float = Field(default=24.0, gt=0)  # Retry failed, counted from the approval (SPEC §7)
    policy_file: Path | None = None  # SPEC §6; read by bot/policy_file.py
    preview_before_approval: bool = True  # SPEC §8: ImmyBot's detection-only run on the approval card

    audit_db: Path = Path("./immybot-slack.db")
    database_url: SecretStr | None = None  # postgresql://…: state in PostgreSQL (SPEC §9); unset: SQLite
    lease_seconds: float = Field(default=30.0, gt=0)
    database_pool_size: int = Field(default=10, ge=2, le=200)  # connections per replica (PostgreSQL only)
    audit_checkpoint_channel: str | None = None  # default: APPROVAL_CHANNEL (SPEC §10)
    audit_checkpoint_minutes: float = Field(default=60.0, gt=0)
    session_poll_seconds: float = Field(default=15.0, ge=0.2)
    session_max_wait_hours: float = Field(default=24.0, gt=0)
    catalog_refresh_minutes: float = Field(default=15.0, gt=0)
    port: int = Field(default=3000, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level")
    )
    log_format: Literal["json", "text"] = "json"

    # ---- field validators -------------------------------------------------------------------

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> object:
        return check_database_url(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with 'xoxb-'")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with 'xapp-'")
        return value

    @field_validator("slack_signing_secret", "immybot_client_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        tls_off_loopback("SLACK_API_URL", value)  # the bot token goes with every call too
        return value if value.endswith("/") else value + "/"

    @field_validator("immybot_authority_host")
    @classmethod
    def _authority(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError(f"{value!r} must be an https URL such as https://login.microsoftonline.com")
        return value.rstrip("/")

    @field_validator("immybot_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        tls_off_loopback("IMMYBOT_BASE_URL", value)  # the bearer token never crosses a network in clear
        return value.rstrip("/")

    @field_validator("immybot_subdomain")
    @classmethod
    def _subdomain(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip().lower()
        if not _SUBDOMAIN.match(value):
            raise ValueError(f"{value!r} is not a subdomain: give 'acme' for https://acme.immy.bot")
        return value

    @field_validator("immybot_tenant_id")
    @classmethod
    def _tenant(cls, value: str) -> str:
        value = value.strip()
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
        if _DOMAIN.match(value.lower()):
            return value.lower()
        raise ValueError(f"{value!r} is neither a directory (tenant) GUID nor a verified domain")

    @field_validator("immybot_client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            raise ValueError(f"{value!r} is not an application (client) ID GUID") from None

    @field_validator("approval_channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        value = value.strip()
        if not _SLACK_CHANNEL.match(value):
            raise ValueError(f"{value!r} is not a Slack channel ID (C…, G…)")
        return value

    @field_validator("audit_checkpoint_channel")
    @classmethod
    def _checkpoint_channel(cls, value: str | None) -> str | None:
        return cls._channel(value) if value and value.strip() else None

    @field_validator("approvers", "requesters", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_ids(value)

    @field_validator("approvers", "requesters")
    @classmethod
    def _ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not _SLACK_USER_OR_GROUP.match(item):
                raise ValueError(f"{item!r} is not a Slack user (U…, W…) or user group (S…) ID")
        return value

    @field_validator("approvers")
    @classmethod
    def _approvers_present(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one approver (a Slack user or user group ID)")
        return value

    @model_validator(mode="after")
    def _immybot_instance(self) -> Settings:
        if not self.immybot_base_url and not self.immybot_subdomain:
            raise ValueError("IMMYBOT_SUBDOMAIN: set IMMYBOT_SUBDOMAIN (e.g. 'acme') or IMMYBOT_BASE_URL")
        return self

    # ---- derived values ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The ImmyBot instance URL, without a trailing slash."""
        if self.immybot_base_url:
            return self.immybot_base_url
        return f"https://{self.immybot_subdomain}.immy.bot"

    @property
    def immybot_scope(self) -> str:
        return f"{self.base_url}/.default"

    @property
    def authority(self) -> str:
        return f"{self.immybot_authority_host}/{self.immybot_tenant_id}"

    @property
    def instance_discovery(self) -> bool:
        return urlsplit(self.immybot_authority_host).hostname in KNOWN_AUTHORITY_HOSTS

    @property
    def checkpoint_channel(self) -> str:
        """Where audit checkpoints go (SPEC §10)."""
        return self.audit_checkpoint_channel or self.approval_channel

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def approver_users(self) -> frozenset[str]:
        return frozenset(i for i in self.approvers if not i.startswith("S"))

    @property
    def approver_groups(self) -> frozenset[str]:
        return frozenset(i for i in self.approvers if i.startswith("S"))

    @property
    def requester_users(self) -> frozenset[str]:
        return frozenset(i for i in self.requesters if not i.startswith("S"))

    @property
    def requester_groups(self) -> frozenset[str]:
        return frozenset(i for i in self.requesters if i.startswith("S"))

    def require_mode(self, socket: bool) -> None:
        """Check the settings the chosen Slack mode needs (HTTP needs the signing secret)."""
        if socket and self.slack_app_token is None:
            raise SettingsError("SLACK_APP_TOKEN: required for Socket Mode (an 'xapp-' app-level token)")
        if not socket and self.slack_signing_secret is None:
            raise SettingsError("SLACK_SIGNING_SECRET: required in HTTP mode (Basic Information → Signing Secret)")


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = first.get("loc") or ()
    name = str(loc[0]).upper() if loc else ""
    message = str(first.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if first.get("type") == "missing":
        message = "required but not set"
    if not name and ":" in message:  # model-level errors carry the variable name themselves
        return message
    return f"{name}: {message}"


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings once; raise `SettingsError` with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


class StoreSettings(BaseSettings):
    """The few settings the offline commands (`audit export`, `audit verify`) need."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)
    audit_db: Path = Path("./immybot-slack.db")
    database_url: SecretStr | None = None

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> object:
        return check_database_url(value)


class PolicyFileSettings(BaseSettings):
    """What `policy check` needs without a FILE argument: POLICY_FILE alone."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)
    policy_file: Path | None = None


class CheckpointReadSettings(StoreSettings):
    """What `audit verify` needs to read the checkpoints back from Slack; nothing else is required."""

    slack_bot_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    approval_channel: str | None = None
    audit_checkpoint_channel: str | None = None

    @property
    def checkpoint_channel(self) -> str | None:
        return (self.audit_checkpoint_channel or "").strip() or (self.approval_channel or "").strip() or None
