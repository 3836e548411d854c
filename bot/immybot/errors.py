"""What can go wrong talking to Entra and ImmyBot. Every message is safe to show a user.

No message ever carries the client secret or a token: they are built from status codes, routes,
URLs and Entra's own AADSTS descriptions (which never echo the secret).
"""

from __future__ import annotations

ENTERPRISE_APP_FIX = (
    "in ImmyBot add the Enterprise Application's Object ID (Entra → Enterprise applications → your app → "
    "Object ID; not the App Registration's) as a Person (People → New → Azure Object ID), then make that "
    "Person a User with an admin / API-capable role"
)

# AADSTS code → what to do about it (SPEC §1 doctor traps).
AADSTS_FIXES: dict[str, str] = {
    "7000215": (
        "IMMYBOT_CLIENT_SECRET must be the secret's VALUE (shown once when created), not its Secret ID; "
        "or the secret expired: create a new one under App Registration → Certificates & secrets"
    ),
    "7000222": "the client secret expired: create a new one under App Registration → Certificates & secrets",
    "700016": (
        "IMMYBOT_CLIENT_ID is not an application in that tenant: copy the Application (client) ID from the "
        "App Registration's overview, and check IMMYBOT_TENANT_ID is the directory that owns it"
    ),
    "90002": (
        "IMMYBOT_TENANT_ID names no Entra directory: copy the Directory (tenant) ID from the App "
        "Registration's overview (or use a verified domain)"
    ),
    "500011": (
        "the ImmyBot instance URL is wrong (no Entra resource has it as App ID URI): check IMMYBOT_SUBDOMAIN / "
        "IMMYBOT_BASE_URL against the address you use to open ImmyBot"
    ),
    "1002012": (
        "the token scope is malformed: it must be '<ImmyBot URL>/.default'; check IMMYBOT_SUBDOMAIN / "
        "IMMYBOT_BASE_URL (a full https URL without a path)"
    ),
}


class ImmyBotError(Exception):
    """Base class of every ImmyBot client error. `str(err)` is one safe line; `fix` says what to do."""

    fix: str | None = None

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if fix is not None:
            self.fix = fix


class ImmyAuthError(ImmyBotError):
    """Entra refused to mint a token (configuration). `code` is the AADSTS number when Entra gave one."""

    def __init__(self, message: str, *, code: str | None = None, fix: str | None = None) -> None:
        super().__init__(message, fix=fix or AADSTS_FIXES.get(code or "", None))
        self.code = code


class ImmyForbidden(ImmyBotError):
    """ImmyBot answered 401/403 even with a freshly minted token."""

    fix = ENTERPRISE_APP_FIX


class ImmyNotFound(ImmyBotError):
    """ImmyBot answered 404 for a resource (a computer or session id that does not exist)."""


class ImmyRejected(ImmyBotError):
    """ImmyBot answered another 4xx (e.g. 400 for a body it does not accept). `status` is the code."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class ImmyRateLimited(ImmyBotError):
    """Still 429 after the last attempt. `retry_after` is ImmyBot's last hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, fix="wait and retry; lower the bot's concurrency if this persists")
        self.retry_after = retry_after


class ImmyUnavailable(ImmyBotError):
    """5xx, timeouts, refused connections (of ImmyBot or of the Entra authority). Names the URL."""

    def __init__(self, message: str, *, url: str, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.url = url


class ImmyUnexpectedContent(ImmyBotError):
    """A body that is not the JSON expected (ImmyBot answers unknown routes with its web app's HTML, 200)."""

    def __init__(self, route: str, detail: str) -> None:
        super().__init__(
            f"unexpected content from {route}: {detail}",
            fix="the route may not exist on this ImmyBot version; check IMMYBOT_BASE_URL and the instance's /swagger",
        )
        self.route = route
