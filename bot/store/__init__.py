"""Durable state on aiosqlite: requests, sessions, dedup keys and the hash-chained audit log."""

from bot.store.store import Store

__all__ = ["Store"]
