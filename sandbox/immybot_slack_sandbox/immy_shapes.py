"""How the fake ImmyBot serialises an answer: every schema property, like ASP.NET Core, in one of three shapes.

* `full` (the default): every property of the response schema, camelCase, `null` where there is no
  value (`maintenanceActions` when actions were not asked for, a computer's `sessions`, …);
* `sparse`: the same with null properties left out (they are not `required`);
* `int_enums`: every enum property sent as its integer ("The string or integer value may be used").

`Shaper(shape).complete("GetComputerResponse", row)` fills the properties the row lacks with their .NET
default (`immy_schema.PROPERTIES`), drops keys the schema does not have, and applies the shape.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from immybot_slack_sandbox.immy_schema import ENUMS, PROPERTIES

Shape = Literal["full", "sparse", "int_enums"]
SHAPES: tuple[Shape, ...] = ("full", "sparse", "int_enums")
_DATE_MIN = "0001-01-01T00:00:00Z"
_GUID_EMPTY = "00000000-0000-0000-0000-000000000000"


@cache
def _enum(name: str) -> dict[str, int]:
    return {key: int(value) for key, _, value in (pair.partition("=") for pair in ENUMS[name].split())}


@cache
def _schema(name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(property → default, property → enum name) of one response schema."""
    defaults: dict[str, Any] = {}
    enums: dict[str, str] = {}
    for pair in PROPERTIES[name].split():
        key, _, code = pair.partition("=")
        if code.startswith("e:"):
            enums[key] = code[2:]
            defaults[key] = next(iter(_enum(code[2:])))
        else:
            defaults[key] = {"0": 0, "f": False, "s": "", "l": [], "d": _DATE_MIN, "u": _GUID_EMPTY}.get(code)
    return defaults, enums


class Shaper:
    def __init__(self, shape: Shape = "full") -> None:
        if shape not in SHAPES:
            raise ValueError(f"unknown shape {shape!r}; one of {SHAPES}")
        self.shape = shape

    def complete(self, schema: str, values: dict[str, Any]) -> dict[str, Any]:
        """`values` as ImmyBot would send that schema (nested objects: complete them first)."""
        defaults, enums = _schema(schema)
        out: dict[str, Any] = {}
        for key, default in defaults.items():
            value = values.get(key, default)
            if value is None and default == []:  # a list the schema does not let be null
                value = []
            if self.shape == "sparse" and value is None:
                continue
            if self.shape == "int_enums" and key in enums and isinstance(value, str):
                value = _enum(enums[key]).get(value, value)
            out[key] = value
        return out

    def rows(self, schema: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.complete(schema, row) for row in rows]

    def untyped(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row the schema leaves untyped (`LoadResult.data` of sessions): only `sparse` applies."""
        return {k: v for k, v in row.items() if v is not None} if self.shape == "sparse" else row

