"""PostgreSQL adapter (SPEC §9): the same operations as `bot.store.Store` / `Tx`, shared by replicas."""

from bot.store.pg.store import PgStore, PgTx, WatchClaim

__all__ = ["PgStore", "PgTx", "WatchClaim"]
