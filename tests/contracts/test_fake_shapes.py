"""The fake ImmyBot answers like ImmyBot: every answer valid against the route's OpenAPI response schema, in
every shape; the `full` shape carries every property (nulls present, as ASP.NET Core serialises); the
fake's table of properties is in sync with openapi.json; and no fake imports the bot."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from bot.immybot.run_body import run_body
from bot.workflow.model import Catalog, DesiredState, RunOptions, Software
from immybot_slack_sandbox.immy_sandbox import SANDBOX_CLIENT_ID, immy_sandbox
from immybot_slack_sandbox.immy_schema import ENUMS, PROPERTIES
from immybot_slack_sandbox.immy_shapes import SHAPES, Shape
from tests.conftest import OPENAPI, REPO, require_shared
from tests.contracts import schema as oas

BIG = 10**6
GROUP = "0f8fad5b-d9cb-469f-a165-70867728950e"  # no cap on lists when validating


def _validate(body: Any, schema: dict[str, Any], what: str) -> None:
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    assert error is None, f"{what}: {error.json_path}: {error.message[:300]}"


def _component(name: str) -> dict[str, Any]:
    return oas.to_json_schema({"$ref": f"#/components/schemas/{name}"}, max_items=BIG)


def _route(path: str, method: str = "get") -> dict[str, Any]:
    return oas.to_json_schema(oas.route_schema(path, method), max_items=BIG)


def _all_properties(body: dict[str, Any], schema_name: str) -> None:
    missing = set(oas.schemas()[schema_name]["properties"]) - set(body)
    assert not missing, f"{schema_name} lacks {sorted(missing)}"


@pytest.mark.parametrize("shape", SHAPES)
async def test_every_fake_answer_matches_its_schema(tmp_path: Path, shape: Shape) -> None:
    require_shared(OPENAPI)
    async with immy_sandbox(tmp_path, computers=12, shape=shape) as sandbox:
        token = sandbox.entra.mint(sandbox.base_url, SANDBOX_CLIENT_ID)
        async with httpx.AsyncClient(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {token}"}) as http:

            async def get(path: str, **params: Any) -> Any:
                response = await http.get(path, params=params)
                assert response.status_code == 200, (path, response.text)
                return response.json()

            for kind, name in (("global", "GetGlobalSoftwareResponse"), ("local", "GetLocalSoftwareResponse")):
                rows = await get(f"/api/v1/software/{kind}")
                _validate(rows, _route(f"/api/v1/software/{kind}"), kind)
                if shape == "full":
                    _all_properties(rows[0], name)
            _validate(await get("/api/v1/tenants"), _route("/api/v1/tenants"), "tenants")
            page = await get("/api/v1/computers/dx", skip=0, take=5)
            _validate(page, _route("/api/v1/computers/dx"), "computers/dx")
            _validate(page["data"], {"type": "array", "items": _component("ComputerListViewModel")}, "dx rows")
            body = run_body(computer_ids=[1, 2], software=Software(id=714, name="Chrome", catalog=Catalog.GLOBAL),
                            action=DesiredState.LATEST, options=RunOptions(), session_group_id=GROUP)
            started = (await http.post("/api/v1/run-immy-service", json=body)).json()
            _validate(started, _route("/api/v1/run-immy-service", "post"), "run-immy-service")
            session_id = started["sessionsStarted"][0]["sessionId"]
            bare = await get(f"/api/v1/maintenance-sessions/{session_id}")
            with_actions = await get(f"/api/v1/maintenance-sessions/{session_id}", includeActions="true")
            for answer in (bare, with_actions):
                _validate(answer, _route("/api/v1/maintenance-sessions/{sessionId}"), "session")
            if shape == "full":
                _all_properties(bare, "GetMaintenanceSessionResponse")
                assert bare["maintenanceActions"] is None  # not asked for: null, as ImmyBot sends it
                _all_properties(with_actions["maintenanceActions"][0], "GetMaintenanceActionResponse")
            if shape == "int_enums":
                assert isinstance(with_actions["maintenanceActions"][0]["desiredSoftwareState"], int)
            computer = await get("/api/v1/computers/1", includePrimaryPerson="true")
            _validate(computer, _route("/api/v1/computers/{computerId}"), "computer")
            if shape == "full":
                _all_properties(computer, "GetComputerResponse")
                assert computer["sessions"] is None
            elif shape == "sparse":
                assert "sessions" not in computer
            _validate(await get("/api/v1/maintenance-sessions/dx", computerId=1),
                      _route("/api/v1/maintenance-sessions/dx"), "sessions/dx")  # fmt: skip
            actions = await get("/api/v1/maintenance-actions/dx",
                                filter=json.dumps([["maintenanceSessionId", "=", session_id]]))  # fmt: skip
            _validate(actions, _route("/api/v1/maintenance-actions/dx"), "actions/dx")
            assert actions


def test_the_fake_property_table_is_in_sync_with_openapi() -> None:
    require_shared(OPENAPI)
    for name, table in PROPERTIES.items():
        assert [pair.split("=")[0] for pair in table.split()] == list(oas.schemas()[name]["properties"]), name
    for name, table in ENUMS.items():
        assert dict((k, int(v)) for k, _, v in (p.partition("=") for p in table.split())) == oas.enum_values(name)


def test_no_fake_imports_the_bot() -> None:
    """A fake answers from the contract, never from our models (the helper rules)."""
    sandbox = REPO / "sandbox" / "immybot_slack_sandbox"
    paths = [*sandbox.glob("immy*.py"), sandbox / "entra.py"]
    assert len(paths) > 3
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] != "bot", f"{path.name} imports {node.module}"
