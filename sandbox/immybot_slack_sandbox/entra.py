"""A fake Microsoft Entra ID token service, strict enough that msal really talks to it over HTTPS.

    entra = FakeEntra(tenant_id=..., client_id=..., client_secret=...)
    async with entra.running(make_tls(tmp / "tls")) as url:   # https://127.0.0.1:<port>
        entra.register_resource("https://acme.immy.bot")      # an App ID URI tokens may be minted for

With `instance_discovery=False` msal fetches `/{tenant}/v2.0/.well-known/openid-configuration`
when the app is built, then POSTs `/{tenant}/oauth2/v2.0/token` (client_credentials). Errors come
back in Entra's shape (`error`, `error_description` "AADSTSnnn: …", `error_codes`) with its
status codes: unknown tenant 90002, unknown client 700016, bad secret 7000215 (401), scope of an
unknown resource 500011, malformed scope 1002012. Tokens are JWT-shaped, HMAC-signed; `verify()`
lets the fake ImmyBot check them (signature, expiry) and read their `aud`.

Outages: `fail_token_requests(3)` answers the next three token requests 503 (or any status and
body given), as an Entra having a bad day; `outages` holds what is still queued.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from immybot_slack_sandbox.server import TlsFiles, serve

_ERRORS = {
    "90002": (400, "invalid_tenant", "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID."),
    "700016": (
        400,
        "unauthorized_client",
        "Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
    ),
    "7000215": (
        401,
        "invalid_client",
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
        "not the client secret ID, for a secret added to app '{client_id}'.",
    ),
    "500011": (
        400,
        "invalid_resource",
        "The resource principal named {resource} was not found in the tenant named {tenant}.",
    ),
    "1002012": (
        400,
        "invalid_scope",
        "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with "
        "/.default suffixed to the resource identifier (application ID URI).",
    ),
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenRequest:
    tenant: str
    client_id: str | None
    scopes: tuple[str, ...]
    error_code: str | None  # None when a token was issued


class FakeEntra:
    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        tenant_domains: tuple[str, ...] = ("contoso.onmicrosoft.com",),
        resources: tuple[str, ...] = (),
        expires_in: int = 3599,
    ) -> None:
        self.tenant_id = tenant_id
        self.tenant_domains = tuple(d.lower() for d in tenant_domains)
        self.client_id = client_id
        self.client_secret = client_secret
        self.resources: set[str] = {r.rstrip("/") for r in resources}
        self.expires_in = expires_in
        self.latency = 0.0
        self.url = ""
        self.token_requests: list[TokenRequest] = []
        self.discovery_requests: list[str] = []
        self.outages: list[tuple[int, str, str]] = []  # (status, body, content type) for the next token requests
        self._key = secrets.token_bytes(32)
        self.app = Starlette(
            routes=[
                Route("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery, methods=["GET"]),
                Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            ]
        )

    @asynccontextmanager
    async def running(self, tls: TlsFiles) -> AsyncIterator[str]:
        """Serve over HTTPS on 127.0.0.1; yields the authority host URL."""
        async with serve(self.app, tls=tls) as served:
            self.url = served.url
            yield served.url

    def register_resource(self, resource: str) -> None:
        self.resources.add(resource.rstrip("/"))

    def fail_token_requests(
        self, count: int = 1, *, status: int = 503, body: str | None = None, content_type: str = "application/json"
    ) -> None:
        """The next `count` token requests get `status` with `body` (default: Entra's 5xx error JSON)."""
        if body is None:
            body = json.dumps({"error": "temporarily_unavailable", "error_description": "AADSTS90033: A transient "
                               "error has occurred. Please try again.", "error_codes": [90033]})  # fmt: skip
        self.outages.extend([(status, body, content_type)] * count)

    @property
    def tokens_issued(self) -> int:
        return sum(1 for r in self.token_requests if r.error_code is None)

    # ---- tokens --------------------------------------------------------------------------------

    def mint(self, audience: str, client_id: str | None = None, expires_in: int | None = None) -> str:
        now = int(time.time())
        claims = {
            "aud": audience.rstrip("/"),
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "tid": self.tenant_id,
            "appid": client_id or self.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + (self.expires_in if expires_in is None else expires_in),
            "jti": uuid.uuid4().hex,
        }
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims).encode())
        signature = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The token's claims if this Entra signed it and it has not expired; else None."""
        try:
            head, body, signature = token.split(".")
            expected = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                return None
            claims: dict[str, Any] = json.loads(_unb64(body))
        except (ValueError, TypeError):
            return None
        return claims if claims.get("exp", 0) > time.time() else None

    # ---- routes --------------------------------------------------------------------------------

    def _known_tenant(self, tenant: str) -> bool:
        return tenant.lower() in (self.tenant_id.lower(), *self.tenant_domains)

    def _error(self, code: str, **values: str) -> JSONResponse:
        status, error, text = _ERRORS[code]
        trace = uuid.uuid4()
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        description = (
            f"AADSTS{code}: {text.format(**values)} Trace ID: {trace} Correlation ID: {uuid.uuid4()} Timestamp: {now}"
        )
        body = {
            "error": error,
            "error_description": description,
            "error_codes": [int(code)],
            "timestamp": now,
            "trace_id": str(trace),
            "correlation_id": str(uuid.uuid4()),
            "error_uri": f"{self.url}/error?code={code}",
        }
        return JSONResponse(body, status_code=status)

    async def _discovery(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        self.discovery_requests.append(tenant)
        if self.latency:
            await asyncio.sleep(self.latency)
        if not self._known_tenant(tenant):
            return self._error("90002", tenant=tenant)
        base = f"{self.url}/{self.tenant_id}"
        return JSONResponse(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
                "jwks_uri": f"{self.url}/{self.tenant_id}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "tenant_region_scope": "EU",
            }
        )

    async def _token(self, request: Request) -> Response:
        if self.outages:
            status, body, content_type = self.outages.pop(0)
            self.token_requests.append(TokenRequest(request.path_params["tenant"], None, (), str(status)))
            return Response(body, status_code=status, media_type=content_type)
        tenant = request.path_params["tenant"]
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()}
        client_id = str(form.get("client_id") or "") or None
        client_secret = str(form.get("client_secret") or "") or None
        basic = request.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        scopes = tuple(str(form.get("scope") or "").split())
        if self.latency:
            await asyncio.sleep(self.latency)

        def refuse(code: str, **values: str) -> JSONResponse:
            self.token_requests.append(TokenRequest(tenant, client_id, scopes, code))
            return self._error(code, tenant=tenant, client_id=client_id or "", **values)

        if not self._known_tenant(tenant):
            return refuse("90002")
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if client_id != self.client_id:
            return refuse("700016")
        if len(scopes) != 1 or not scopes[0].endswith("/.default") or "://" not in scopes[0]:
            return refuse("1002012", scope=" ".join(scopes))
        if client_secret is None or not hmac.compare_digest(client_secret, self.client_secret):
            return refuse("7000215")
        resource = scopes[0].removesuffix("/.default").rstrip("/")
        if resource not in self.resources:
            return refuse("500011", resource=resource)
        self.token_requests.append(TokenRequest(tenant, client_id, scopes, None))
        token = self.mint(resource, client_id)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "ext_expires_in": self.expires_in,
                "access_token": token,
            }
        )
