"""Both adapters, and the domain tests' in-memory fake, implement the domain's store port
(`bot/workflow/ports.py`) method for method, with the same parameters: with DATABASE_URL the bot runs on
PgStore/PgTx exactly where it runs on Store/Tx. What the operations do: test_port_behaviour.py."""

from __future__ import annotations

import inspect

import pytest

from bot.store.pg import PgStore, PgTx
from bot.store.store import Store
from bot.store.tx import Tx
from bot.workflow.ports import RequestStore, StoreTx
from tests.domain.fakes import InMemoryStore, InMemoryTx


def _operations(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    }


@pytest.mark.parametrize("adapter", [Tx, PgTx, InMemoryTx], ids=["sqlite", "postgresql", "memory"])
def test_every_transaction_operation_of_the_port(adapter: type) -> None:
    for name, wanted in _operations(StoreTx).items():
        assert hasattr(adapter, name), f"{adapter.__name__} lacks {name} (the port's StoreTx has it)"
        have = inspect.signature(getattr(adapter, name))
        assert list(have.parameters) == list(wanted.parameters), f"{adapter.__name__}.{name}{have} vs {wanted}"
        assert inspect.iscoroutinefunction(getattr(adapter, name)), f"{adapter.__name__}.{name} must be async"


@pytest.mark.parametrize("adapter", [Store, PgStore, InMemoryStore], ids=["sqlite", "postgresql", "memory"])
def test_every_store_operation_of_the_port(adapter: type) -> None:
    for name in _operations(RequestStore):
        assert hasattr(adapter, name), f"{adapter.__name__} lacks {name}"
