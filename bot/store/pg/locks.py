"""Advisory-lock keys: a stable signed 64-bit number per name (PostgreSQL's lock key type)."""

from __future__ import annotations

import hashlib


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)
