"""ImmyBot's OpenAPI 3.0 schemas as plain JSON Schema, for hypothesis-jsonschema and jsonschema.

What ImmyBot's document says, made explicit:
* `nullable: true` → the type also allows null;
* every enum "The string or integer value may be used. Name = n, …" → its names or its integers;
* a property that is only a `$ref` to an object may be null: OpenAPI 3.0 cannot put `nullable` beside
  a `$ref`, and ASP.NET Core serialises an unset reference as null;
* `format: int32` → the int32 range;
* `$ref`s resolved (a cycle ends in `{}`: any value), `readOnly`/`description`/`default` dropped;
* arrays capped at `max_items` so generated answers stay small enough to run hundreds of.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from tests.conftest import OPENAPI

INT32 = {"minimum": -(2**31), "maximum": 2**31 - 1}
_ENUM_VALUE = re.compile(r"(\w+) = (-?\d+)")


@cache
def document(path: Path = OPENAPI) -> dict[str, Any]:
    return json.loads(path.read_text())


def schemas() -> dict[str, Any]:
    return document()["components"]["schemas"]


def enum_values(name: str) -> dict[str, int]:
    """`SessionStatus` → {"Passed": 0, …}, read from the enum's description."""
    schema = schemas()[name]
    return {m.group(1): int(m.group(2)) for m in _ENUM_VALUE.finditer(schema.get("description", ""))}


def route_schema(path: str, method: str = "get") -> dict[str, Any]:
    """The raw 200 response schema of a route."""
    operation = document()["paths"][path][method]
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


def request_schema(path: str, method: str = "post") -> dict[str, Any]:
    return document()["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def to_json_schema(
    schema: dict[str, Any], *, max_items: int = 3, _seen: tuple[str, ...] = (), _property: bool = False
) -> dict[str, Any]:
    """One OpenAPI schema (with `$ref`s) as a self-contained JSON Schema, as described above."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in _seen:
            return {}
        target = schemas()[name]
        if "enum" in target:
            values = enum_values(name)
            names = {"type": "string", "enum": list(target["enum"])}
            return {"anyOf": [names, {"type": "integer", "enum": sorted(set(values.values()))}]} if values else names
        resolved = to_json_schema(target, max_items=max_items, _seen=(*_seen, name))
        if _property and target.get("type", "object") == "object" and "properties" in target:
            return {"anyOf": [resolved, {"type": "null"}]}
        return resolved
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if kind is not None:
        out["type"] = [kind, "null"] if schema.get("nullable") else kind
    if kind == "integer" and schema.get("format") == "int32":
        out.update(INT32)
    if "enum" in schema:
        out["enum"] = list(schema["enum"]) + ([None] if schema.get("nullable") else [])
    if "format" in schema and kind == "string" and schema["format"] in ("date-time", "uuid"):
        out["format"] = schema["format"]
    if "items" in schema:
        out["items"] = to_json_schema(schema["items"], max_items=max_items, _seen=_seen)
        out["maxItems"] = max_items
    if "properties" in schema:
        out["properties"] = {
            key: to_json_schema(value, max_items=max_items, _seen=_seen, _property=True)
            for key, value in schema["properties"].items()
        }
        out["type"] = out.get("type", "object")
    if schema.get("required"):
        out["required"] = list(schema["required"])
    if "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        out["additionalProperties"] = to_json_schema(schema["additionalProperties"], max_items=max_items, _seen=_seen)
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:
            out[key] = [to_json_schema(part, max_items=max_items, _seen=_seen) for part in schema[key]]
    return out


def extremes(schema: dict[str, Any]) -> list[Any]:
    """Hand-picked instances of a JSON Schema from `to_json_schema`: every nullable null, every optional
    absent, every enum as an unknown integer and an unknown name, every list empty."""
    return [
        _instance(schema, "null"),
        _instance(schema, "absent"),
        _instance(schema, "unknown_int"),
        _instance(schema, "unknown_name"),
        _instance(schema, "empty"),
    ]


def _allows_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return (isinstance(kind, list) and "null" in kind) or any(
        part.get("type") == "null" for part in schema.get("anyOf", ())
    )


def _instance(schema: dict[str, Any], mode: str) -> Any:
    if "anyOf" in schema:
        options = [part for part in schema["anyOf"] if part.get("type") != "null"]
        if mode == "null" and _allows_null(schema):
            return None
        if options and options[0].get("enum") and len(options) == 2:  # an enum: names or integers
            if mode == "unknown_int":
                return 987
            if mode == "unknown_name":
                return "SomethingNewer"
            return options[1]["enum"][0] if mode == "empty" else options[0]["enum"][0]
        return _instance(options[0], mode) if options else None
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if mode == "null" and "null" in kinds:
        return None
    if "properties" in schema or "object" in kinds:
        required = set(schema.get("required", ()))
        return {
            key: _instance(sub, mode)
            for key, sub in schema.get("properties", {}).items()
            if mode != "absent" or key in required
        }
    if "array" in kinds:
        return [] if mode == "empty" else [_instance(schema.get("items", {}), mode)]
    if "integer" in kinds:
        return 0 if mode == "empty" else 7
    if "number" in kinds:
        return 1.5
    if "boolean" in kinds:
        return False
    if "string" in kinds:
        if schema.get("enum"):
            return schema["enum"][0]
        if schema.get("format") == "date-time":
            return "2026-03-30T09:00:00Z"
        if schema.get("format") == "uuid":
            return "00000000-0000-0000-0000-000000000000"
        return "" if mode == "empty" else "text"
    return None
