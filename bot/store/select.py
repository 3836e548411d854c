"""Which store the bot runs on: `DATABASE_URL` → PostgreSQL (replicas), else the SQLite file at AUDIT_DB.

Returns the store (the domain's `RequestStore`), the follower's `SessionLeases` and the `Singletons`
for the once-per-tick jobs: on SQLite one replica, so the local no-op versions of both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.store.store import Store
from bot.workflow.leases import LocalLeases, LocalSingletons, SessionLeases, Singletons

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store.pg import PgStore


@dataclass
class Selected:
    store: Store | PgStore
    leases: SessionLeases
    singletons: Singletons
    backend: str  # "sqlite" | "postgresql"


async def open_store(
    settings: Settings,
    *,
    on_takeover: Callable[[int], None] | None = None,
    on_recovered: Callable[[str], None] | None = None,
) -> Selected:
    if settings.database_url is None:
        return Selected(await Store.open(settings.audit_db), LocalLeases(), LocalSingletons(), "sqlite")
    from bot.store.pg import PgStore
    from bot.store.pg.leases import PgLeases

    # every replica migrates under the schema's advisory lock: replicas may start together
    store = await PgStore.open(settings.database_url.get_secret_value(), max_size=settings.database_pool_size)
    leases = PgLeases(store, lease_seconds=settings.lease_seconds, on_takeover=on_takeover,
                      on_recovered=on_recovered)
    return Selected(store, leases, store, "postgresql")
