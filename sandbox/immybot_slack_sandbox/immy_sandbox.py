"""Fake Entra (HTTPS, throwaway CA) + fake ImmyBot, wired together, for the demo and the tests.

    async with immy_sandbox(tmp_path, computers=80) as sb:
        os.environ.update(sb.env)          # or monkeypatch; REQUESTS_CA_BUNDLE must be in os.environ
        settings = load_settings(...)      # IMMYBOT_* now point at the fakes
        sb.immybot.script_computer(3, ["Created", "Running", "Failed"])

`sb.env` holds IMMYBOT_BASE_URL, IMMYBOT_AUTHORITY_HOST, IMMYBOT_TENANT_ID, IMMYBOT_CLIENT_ID,
IMMYBOT_CLIENT_SECRET and REQUESTS_CA_BUNDLE (msal's `requests` reads it at request time).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from immybot_slack_sandbox.entra import FakeEntra
from immybot_slack_sandbox.immy_data import ImmyData, generate
from immybot_slack_sandbox.immy_shapes import Shape
from immybot_slack_sandbox.immybot import BodyValidator, FakeImmyBot
from immybot_slack_sandbox.server import TlsFiles, make_tls

SANDBOX_TENANT_ID = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
SANDBOX_CLIENT_ID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
SANDBOX_CLIENT_SECRET = "sandbox~secret.value-not-real-0123456789"


@dataclass
class ImmySandbox:
    entra: FakeEntra
    immybot: FakeImmyBot
    tls: TlsFiles
    authority_host: str
    base_url: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "IMMYBOT_BASE_URL": self.base_url,
            "IMMYBOT_AUTHORITY_HOST": self.authority_host,
            "IMMYBOT_TENANT_ID": self.entra.tenant_id,
            "IMMYBOT_CLIENT_ID": self.entra.client_id,
            "IMMYBOT_CLIENT_SECRET": self.entra.client_secret,
            "REQUESTS_CA_BUNDLE": str(self.tls.ca_path),
        }


@asynccontextmanager
async def immy_sandbox(
    directory: Path,
    *,
    data: ImmyData | None = None,
    computers: int = 60,
    global_software: int = 60,
    local_software: int = 12,
    tenants: int = 6,
    seed: int = 7,
    body_validator: BodyValidator | None = None,
    shape: Shape = "full",
) -> AsyncIterator[ImmySandbox]:
    """Start fake Entra over HTTPS and fake ImmyBot over HTTP; stop both on exit."""
    tls = make_tls(Path(directory) / "entra-tls")
    entra = FakeEntra(tenant_id=SANDBOX_TENANT_ID, client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET)
    data = data or generate(
        seed, computers=computers, global_software=global_software, local_software=local_software, tenants=tenants
    )
    immybot = FakeImmyBot(
        data, token_verifier=entra.verify, authorized_clients={SANDBOX_CLIENT_ID}, body_validator=body_validator,
        shape=shape,
    )
    async with entra.running(tls) as authority_host, immybot.running() as base_url:
        entra.register_resource(base_url)
        yield ImmySandbox(entra, immybot, tls, authority_host, base_url)
