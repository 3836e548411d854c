"""Checks of single setting values, shared by every settings class in `bot.config`: id lists, the
URLs the bot sends a token to, DATABASE_URL. Each raises `ValueError` with a message that names no
secret; pydantic turns it into the one-line `SettingsError`."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import SecretStr


def split_ids(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def check_database_url(value: object) -> object:
    """DATABASE_URL: unset/empty, or a postgresql:// (postgres://) URL with a host or socket path.

    The message never repeats the value: it may hold the password."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError("must be a postgresql:// URL")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("must be a postgresql:// URL (e.g. postgresql://bot:PASSWORD@db.example:5432/immybot)")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError("the port is not a number") from None
    if not parts.path.strip("/") and "dbname=" not in parts.query:
        raise ValueError("name the database in the URL path (postgresql://user@host:5432/DBNAME)")
    return value.strip()


def http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def tls_off_loopback(name: str, value: str) -> None:
    """A URL the bot sends a token to: https, or plain http to a loopback host (a local fake, a sidecar)."""
    http_url(name, value)
    if urlsplit(value).scheme != "https" and not is_loopback_host(urlsplit(value).hostname):
        raise ValueError(f"{value!r} must be https:// (plain http is allowed only for a loopback host)")


def is_loopback_host(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or `localhost`: a host whose traffic never leaves the machine."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
