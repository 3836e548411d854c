"""What `/immy status` reads live from ImmyBot about one computer (`ImmyBotClient.get_computer` answers it).

Structural types only, like `catalog_port`: the Slack adapter depends on the answer it renders, not on
the client (the composition root passes the client in)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class PersonView(Protocol):
    @property
    def display_name(self) -> str | None: ...

    @property
    def email(self) -> str | None: ...


class SessionView(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def status(self) -> str | None: ...


class ComputerView(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def tenant_name(self) -> str | None: ...

    @property
    def online(self) -> bool | None: ...

    @property
    def primary_person(self) -> PersonView | None: ...

    @property
    def sessions(self) -> Sequence[SessionView]: ...


class ComputerPort(Protocol):
    async def get_computer(self, computer_id: int, *, include_primary_person: bool = True,
                           include_sessions: bool = False) -> ComputerView: ...
