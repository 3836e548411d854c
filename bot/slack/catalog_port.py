"""What the Slack features read from ImmyBot's catalog (the in-memory `CatalogCache` implements it).

Structural types only, so the Slack adapter depends on the answers it renders, not on the client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.workflow.model import Catalog as CatalogName
from bot.workflow.model import Computer, Software
from bot.workflow.rules import Tenants


class SoftwareHit(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def catalog(self) -> CatalogName: ...

    @property
    def key(self) -> str: ...

    def to_software(self) -> Software: ...


class ComputerHit(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def tenant_id(self) -> int | None: ...

    @property
    def tenant_name(self) -> str | None: ...

    @property
    def online(self) -> bool | None: ...

    @property
    def primary_user_email(self) -> str | None: ...

    def to_computer(self) -> Computer: ...


class CatalogPort(Protocol):
    @property
    def version(self) -> int:
        """Changes whenever the searched tables change (a load, a refresh): answers rendered from
        the searches may be reused while it stays the same."""
        ...

    def search_software(self, query: str, limit: int = 100) -> Sequence[SoftwareHit]: ...

    def search_computers(self, query: str, limit: int = 100, scope: Tenants | None = None) -> Sequence[ComputerHit]:
        """Best first; with `scope`, only computers of those tenants (filtered before the limit)."""
        ...

    def software_by_key(self, key: str) -> SoftwareHit | None: ...

    def computer_by_id(self, computer_id: int) -> ComputerHit | None: ...

    def computers_by_email(self, email: str) -> Sequence[ComputerHit]: ...

    async def computers_for_email(self, email: str) -> Sequence[ComputerHit]:
        """Confirmed live with ImmyBot (the caller bounds the wait)."""
        ...
