"""ImmyBotClient reads and writes against the fake ImmyBot over real HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter

from bot.immybot.client import ImmyBotClient
from bot.immybot.models import ComputerDetail, ComputerRow, MaintenanceAction, MaintenanceSession
from bot.immybot.run_body import run_body
from bot.workflow.model import (
    Catalog,
    DesiredState,
    OfflineBehavior,
    RebootPreference,
    RunOptions,
    Software,
)
from immybot_slack_sandbox.immy_sandbox import ImmySandbox

CHROME = Software(id=714, name="Google Chrome", catalog=Catalog.GLOBAL)
LOCAL_VPN = Software(id=3, name="Contoso VPN Client", catalog=Catalog.LOCAL)


async def test_software_lists_carry_their_catalog(immy_client: ImmyBotClient) -> None:
    global_sw = await immy_client.list_software(Catalog.GLOBAL)
    local_sw = await immy_client.list_software(Catalog.LOCAL)
    assert any(s.id == 714 and s.name == "Google Chrome" for s in global_sw)
    assert {s.catalog for s in global_sw} == {Catalog.GLOBAL} and {s.catalog for s in local_sw} == {Catalog.LOCAL}
    overlap = {s.id for s in global_sw} & {s.id for s in local_sw}
    assert 3 in overlap  # ids overlap between catalogs: the pair is the identity


async def test_all_computers_come_through_dx_paging(immy: ImmySandbox, immy_settings: Any, fast_retry: Any) -> None:
    async with ImmyBotClient(immy_settings, retry=fast_retry, dx_page_size=25) as client:
        rows = await client.list_computers()
    assert len(rows) == len(immy.immybot.data.computers) > 25
    skips = [int(r.query["skip"]) for r in immy.immybot.requests_to("/api/v1/computers/dx")]
    assert skips[0] == 0 and {25, 50} <= set(skips) and len(skips) == len(set(skips))  # pages asked ahead, once
    assert all(skip % 25 == 0 and "requireTotalCount" not in r.query
               for skip, r in zip(skips, immy.immybot.requests_to("/api/v1/computers/dx"), strict=True))
    assert not immy.immybot.requests_to("/api/v1/computers")  # the capped list is never used


@pytest.mark.parametrize("asked", ["Jane.Doe@Contoso.com", "jane.doe@contoso.com", " JANE.DOE@CONTOSO.COM "])
async def test_email_lookup_is_case_insensitive(
    immy: ImmySandbox, immy_settings: Any, fast_retry: Any, asked: str
) -> None:
    from bot.immybot.catalog import CatalogCache

    async with ImmyBotClient(immy_settings, retry=fast_retry, dx_page_size=10) as client:
        catalog = CatalogCache(client)
        await catalog.load()  # the fallback compares cached rows (all pages) when the server's `=` misses
        rows = await catalog.computers_for_email(asked)
    expected = sorted(c["id"] for c in immy.immybot.data.computers if c["primaryUserEmail"] == "Jane.Doe@Contoso.com")
    assert sorted(r.id for r in rows) == expected and len(expected) == 3
    assert max(expected) - min(expected) > 10  # spread over several dx pages
    filtered = [r for r in immy.immybot.requests_to("/api/v1/computers/dx") if "filter" in r.query]
    assert json.loads(filtered[0].query["filter"]) == ["primaryUserEmail", "=", asked.strip()]


async def test_email_lookup_pages_the_filtered_query(immy: ImmySandbox, immy_settings: Any, fast_retry: Any) -> None:
    immy.immybot.dx_equals_ignores_case = True
    async with ImmyBotClient(immy_settings, retry=fast_retry, dx_page_size=2) as client:
        rows = await client.computers_for_email("jane.doe@CONTOSO.com")
    assert len(rows) == 3
    assert len([r for r in immy.immybot.requests_to("/api/v1/computers/dx") if "filter" in r.query]) == 2


async def test_get_computer_with_primary_person(immy_client: ImmyBotClient) -> None:
    detail = await immy_client.get_computer(1)
    assert detail.name == "CONTOSO-LT-0001" and detail.tenant_name == "Contoso Ltd"
    assert detail.primary_user_email == "Jane.Doe@Contoso.com"
    assert detail.to_row().primary_user_email == "Jane.Doe@Contoso.com"


@pytest.mark.parametrize(("software", "maintenance_type"), [(CHROME, "GlobalSoftware"), (LOCAL_VPN, "LocalSoftware")])
async def test_run_body_is_valid_against_openapi(
    immy: ImmySandbox,
    immy_client: ImmyBotClient,
    openapi_body_validator: Callable[[Any], list[str]],
    software: Software,
    maintenance_type: str,
) -> None:
    immy.immybot.body_validator = openapi_body_validator
    group = str(uuid.uuid4())
    options = RunOptions(reboot=RebootPreference.FORCE, offline=OfflineBehavior.APPLY_ON_CONNECT, preview=True)
    result = await immy_client.run_immy_service(
        computer_ids=[1, 2], software=software, action=DesiredState.NOT_PRESENT, options=options, session_group_id=group
    )
    assert not immy.immybot.invalid_bodies
    assert [s.computer_id for s in result.started] == [1, 2]
    body = immy.immybot.requests_to("/api/v1/run-immy-service")[0].json
    assert body["computers"] == [{"computerId": 1}, {"computerId": 2}]
    assert body["maintenanceParams"] == {
        "maintenanceIdentifier": str(software.id),
        "maintenanceType": maintenance_type,
        "desiredSoftwareState": "NotPresent",
        "repair": False,
    }
    assert body["rebootPreference"] == "Force" and body["suppressRebootsDuringBusinessHours"] is False
    assert body["offlineBehavior"] == "ApplyOnConnect" and body["detectionOnly"] is True
    assert body["sessionGroupId"] == group and body["skipBackgroundJob"] is False and body["fullMaintenance"] is False


def test_the_validator_catches_integer_strings_and_unknown_fields(
    openapi_body_validator: Callable[[Any], list[str]],
) -> None:
    body = run_body(
        computer_ids=[1], software=CHROME, action=DesiredState.LATEST, options=RunOptions(), session_group_id="x"
    )
    assert openapi_body_validator({**body, "sessionGroupId": str(uuid.uuid4())}) == []
    assert openapi_body_validator(
        {**body, "maintenanceParams": {**body["maintenanceParams"], "maintenanceType": "Soft"}}
    )
    assert openapi_body_validator({**body, "madeUp": True})


async def test_local_id_that_also_exists_globally_runs_the_local_item(
    immy: ImmySandbox, immy_client: ImmyBotClient
) -> None:
    assert any(s["id"] == 3 for s in immy.immybot.data.global_software)
    result = await immy_client.run_immy_service(
        computer_ids=[4], software=LOCAL_VPN, action=DesiredState.LATEST, options=RunOptions(), session_group_id="g"
    )
    session = await immy_client.get_session(result.started[0].session_id, include_actions=True)
    assert session.actions[0].display_name == "Contoso VPN Client"
    assert session.actions[0].maintenance_type == "LocalSoftware"


async def test_session_lifecycle_actions_and_lookup(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.script_computer(2, ["Created", "Running", "Failed"], failure_message="Installer exited with 1603")
    group = str(uuid.uuid4())
    result = await immy_client.run_immy_service(
        computer_ids=[2], software=CHROME, action=DesiredState.LATEST, options=RunOptions(), session_group_id=group
    )
    sid = result.started[0].session_id
    assert [(await immy_client.get_session(sid)).status for _ in range(4)] == ["Created", "Running", "Failed", "Failed"]
    actions = await immy_client.session_actions(sid)
    assert actions[0].result == "Failed" and actions[0].action_type == "Install"
    assert actions[0].result_reason_message == "Installer exited with 1603"
    assert actions[0].desired_version == "124.0.6367.61"
    found = await immy_client.find_sessions(2, group)
    assert [s.id for s in found] == [sid] and found[0].session_group_id == group
    assert await immy_client.find_sessions(2, str(uuid.uuid4())) == []


async def test_already_in_progress_and_cancel(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    immy.immybot.script_computer(5, ["Created", "Running"])
    first = await immy_client.run_immy_service(
        computer_ids=[5], software=CHROME, action=DesiredState.LATEST, options=RunOptions(), session_group_id="a"
    )
    second = await immy_client.run_immy_service(
        computer_ids=[5, 1], software=CHROME, action=DesiredState.LATEST, options=RunOptions(), session_group_id="b"
    )
    assert [s.session_id for s in second.already_in_progress] == [first.started[0].session_id]
    assert [s.computer_id for s in second.started] == [1]
    await immy_client.cancel_session(first.started[0].session_id)
    assert (await immy_client.get_session(first.started[0].session_id)).status == "Cancelled"
    assert immy.immybot.requests_to("/api/v1/maintenance-sessions/*/cancel", method="GET")


async def test_empty_run_response_gives_empty_lists(immy: ImmySandbox, immy_client: ImmyBotClient) -> None:
    from immybot_slack_sandbox.immy_faults import Fault

    immy.immybot.faults.next("/api/v1/run-immy-service", Fault(200, ""))
    result = await immy_client.run_immy_service(
        computer_ids=[1], software=CHROME, action=DesiredState.LATEST, options=RunOptions(), session_group_id="c"
    )
    assert result.started == [] and result.already_in_progress == []


# ---- model parsing (payload shapes seen from ImmyBot) ------------------------------------------


def test_both_computer_shapes_parse_into_one_row() -> None:
    rows = TypeAdapter(list[ComputerRow]).validate_python(
        [
            {"id": 1, "name": "PC-1", "tenant": "Contoso Ltd", "tenantId": 1, "online": True, "updatedDate": "x"},
            {
                "id": 2,
                "computerName": "PC-2",
                "tenantName": "Fabrikam",
                "tenantId": 2,
                "isOnline": None,
                "primaryUserEmail": "A@B.com",
                "unknownField": [1],
            },
        ]
    )
    assert (rows[0].name, rows[0].tenant_name, rows[0].online) == ("PC-1", "Contoso Ltd", True)
    assert (rows[1].name, rows[1].tenant_name, rows[1].online, rows[1].primary_user_email) == (
        "PC-2",
        "Fabrikam",
        None,
        "A@B.com",
    )
    detail = ComputerDetail.model_validate({"id": 3, "computerName": "PC-3", "primaryPerson": {"emailAddress": "c@d"}})
    assert detail.primary_user_email == "c@d"


STATUSES = [
    (0, "Passed"),
    (8, "PendingConnectivity"),
    ("Running", "Running"),
    ("13", "MaintenanceForTrackableDevicesNotAllowed"),
    (99, "Unknown(99)"),
]


@pytest.mark.parametrize(("raw", "name"), STATUSES)
def test_session_status_accepts_names_and_integers(raw: object, name: str) -> None:
    assert MaintenanceSession.model_validate({"id": 1, "sessionStatus": raw}).status == name


def test_action_enums_accept_names_and_integers() -> None:
    by_int = MaintenanceAction.model_validate(
        {"id": 1, "actionType": 3, "result": 1, "status": 4, "maintenanceType": 1}
    )
    by_name = MaintenanceAction.model_validate(
        {
            "id": 1,
            "actionTypeName": "Uninstall",
            "resultName": "Success",
            "statusName": "Complete",
            "maintenanceTypeName": "LocalSoftware",
            "taskParameterValues": {"password": "s3cret"},
        }
    )
    for action in (by_int, by_name):
        assert (action.action_type, action.result, action.status, action.maintenance_type) == (
            "Uninstall",
            "Success",
            "Complete",
            "LocalSoftware",
        )
    assert "s3cret" not in by_name.model_dump_json()
