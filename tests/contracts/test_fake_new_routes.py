"""The fake ImmyBot's SPEC §7–§8 answers match openapi.json in every shape: run-immy-service-new (no
body), a scheduled session (with its `scheduledExecutionDate`), a detection-only session's actions,
and a session's logs (every property present in `full`, the secret parameter where ImmyBot puts it)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from immybot_slack_sandbox.immy_logs import SECRET_PARAMETER_VALUE
from immybot_slack_sandbox.immy_sandbox import SANDBOX_CLIENT_ID, immy_sandbox
from immybot_slack_sandbox.immy_shapes import SHAPES, Shape
from tests.conftest import OPENAPI, require_shared
from tests.contracts.test_fake_shapes import _all_properties, _route, _validate

PATH_SESSION = "/api/v1/maintenance-sessions/{sessionId}"


def _body(computers: list[int], **extra: Any) -> dict[str, Any]:
    """Written from the document (RunImmyServiceRequestBody), not from the bot's run_body."""
    return {"computers": [{"computerId": c} for c in computers],
            "maintenanceParams": {"maintenanceIdentifier": "714", "maintenanceType": "GlobalSoftware",
                                  "desiredSoftwareState": "LatestVersion"},
            "rebootPreference": "Suppress", "offlineBehavior": "Skip", "sessionGroupId": str(uuid.uuid4()),
            **extra}  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES)
async def test_every_new_fake_answer_matches_its_schema(tmp_path: Path, shape: Shape) -> None:
    require_shared(OPENAPI)
    async with immy_sandbox(tmp_path, computers=12, shape=shape) as sandbox:
        fake = sandbox.immybot
        fake.clock.set(datetime(2026, 3, 30, 12, 0, tzinfo=UTC))
        online = [c["id"] for c in fake.data.computers if c["isOnline"]][:4]
        token = sandbox.entra.mint(sandbox.base_url, SANDBOX_CLIENT_ID)
        async with httpx.AsyncClient(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {token}"}) as http:

            async def get(path: str, **params: Any) -> Any:
                response = await http.get(path, params=params)
                assert response.status_code == 200, (path, response.text)
                return response.json()

            timed = await http.post("/api/v1/run-immy-service-new",
                                    json=_body(online[:1], updateTime="18:30", timeZoneInfoId="Europe/Paris"))
            assert (timed.status_code, timed.content) == (200, b"")  # the document declares no body
            assert not fake.invalid_bodies
            rows = (await get("/api/v1/maintenance-sessions/dx", computerId=online[0]))
            _validate(rows, _route("/api/v1/maintenance-sessions/dx"), "sessions/dx")
            scheduled = await get(f"/api/v1/maintenance-sessions/{rows['data'][0]['id']}")
            _validate(scheduled, _route(PATH_SESSION), "scheduled session")
            assert scheduled["scheduledExecutionDate"].startswith("2026-03-30T16:30")
            assert scheduled["sessionStatus"] in ("Created", 3)

            for computer, outcome in zip(online[1:], ("would_install", "up_to_date", "failed"), strict=True):
                fake.script_detection(computer, outcome)
            started = (await http.post("/api/v1/run-immy-service", json=_body(online[1:], detectionOnly=True))).json()
            for entry in started["sessionsStarted"]:
                for _ in range(3):
                    session = await get(f"/api/v1/maintenance-sessions/{entry['sessionId']}", includeActions="true")
                    _validate(session, _route(PATH_SESSION), "detection-only session")
                    if shape == "full":
                        _all_properties(session["maintenanceActions"][0], "GetMaintenanceActionResponse")
                actions = await get("/api/v1/maintenance-actions/dx",
                                    filter=json.dumps([["maintenanceSessionId", "=", entry["sessionId"]]]))
                _validate(actions, _route("/api/v1/maintenance-actions/dx"), "detection actions")

                logs = await get(f"/api/v1/maintenance-sessions/{entry['sessionId']}/logs")
                _validate(logs, _route("/api/v1/maintenance-sessions/{sessionId}/logs"), "logs")
                assert len(logs) > 3 and SECRET_PARAMETER_VALUE in json.dumps(logs)
                if shape == "full":
                    for line in logs:
                        _all_properties(line, "GetMaintenanceSessionLogResponse")
                if shape == "int_enums":
                    assert all(isinstance(line["sessionLogType"], int) for line in logs)
            refused = await http.post("/api/v1/run-immy-service-new", json=_body(online[:1], updateTime="6pm"))
            assert refused.status_code == 400
