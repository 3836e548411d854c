"""Contract tests for the SPEC §7–§8 routes, generated from ImmyBot's OpenAPI document with the same
machinery as `test_client_contracts`: the logs route's answers, run-immy-service-new's bodiless answer,
every scheduled / detection-only body we can send, and detection verdicts from any action the schema allows."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import TypeAdapter

from bot.config import load_settings
from bot.immybot.auth import _Fresh
from bot.immybot.client import ImmyBotClient
from bot.immybot.errors import ImmyUnexpectedContent
from bot.immybot.models import MaintenanceAction
from bot.immybot.port import action_facts
from bot.immybot.run_body import run_body
from bot.immybot.session_logs import LogLine, only_messages, parameter_values
from bot.immybot.transport import RetryPolicy
from bot.workflow.model import (
    Catalog,
    DesiredState,
    OfflineBehavior,
    RebootPreference,
    RunOptions,
    SessionInfo,
    Software,
)
from bot.workflow.preview import Verdict, computer_preview
from bot.workflow.schedule import Schedule, When
from tests.conftest import OPENAPI, VALID_ENV, require_shared
from tests.contracts import schema as oas
from tests.contracts.test_client_contracts import GROUP, Route, _run_all

LOGS = Route("/api/v1/maintenance-sessions/{sessionId}/logs", "get", lambda c: c.session_log_lines(9, last=1000),
             LogLine)  # fmt: skip
ZONES = ["UTC", "Europe/Paris", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe", None]
CHROME = Software(id=714, name="Chrome", catalog=Catalog.GLOBAL)


@pytest.mark.parametrize("generated", [True, False], ids=["generated", "extremes"])
def test_log_answers_give_lines_or_one_clear_error(generated: bool) -> None:
    require_shared(OPENAPI)

    def bodies(check: Any) -> None:
        if generated:
            given(from_schema(LOGS.schema()))(lambda body: check(body, False))()
            return
        for body in oas.extremes(LOGS.schema()):
            check(body, False)
        for junk in (None, [], {}, "text", 3, [None], [[1]], [{"message": 5}], [{"time": []}]):
            check(junk, True)

    _run_all(LOGS, bodies)


_params = st.dictionaries(st.text(min_size=1, max_size=8),
                          st.text(alphabet=st.characters(blacklist_characters="•"), min_size=4, max_size=12)
                          | st.integers(1000, 10**9), max_size=3)  # fmt: skip


@given(rows=st.lists(st.fixed_dictionaries({"message": st.text(max_size=40), "time": st.just("2026-03-30T09:00:00Z")},
                                            optional={"scriptParameters": _params, "paramBlockParameters": _params}),
                     max_size=5),
       leaks=st.lists(st.integers(0, 4), max_size=3))  # fmt: skip
def test_no_parameter_value_survives_in_a_message(rows: list[dict[str, Any]], leaks: list[int]) -> None:
    """Whatever a command line echoes, a value sent as a script parameter in the same answer is masked."""
    secrets = parameter_values(rows)
    for position in leaks:  # messages that echo parameter values, as ImmyBot's command lines do
        if rows and secrets:
            rows[position % len(rows)]["message"] += f" -Key {secrets[position % len(secrets)]}"
    lines = TypeAdapter(list[LogLine]).validate_python(only_messages(rows))
    for secret in secrets:
        assert all(secret not in line.message for line in lines)


def _bare_client(handler: Any) -> ImmyBotClient:
    settings = load_settings(**{k.lower(): v for k, v in VALID_ENV.items()})
    client = ImmyBotClient(settings, transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1))
    client.tokens._fresh = _Fresh("token", math.inf)
    return client


@pytest.mark.parametrize("answer", [
    httpx.Response(200), httpx.Response(202), httpx.Response(200, json={}), httpx.Response(200, json=[]),
    httpx.Response(204), httpx.Response(200, json={"sessionsStarted": None}),
], ids=["200-empty", "202-empty", "200-object", "200-list", "204", "200-unexpected-body"])  # fmt: skip
def test_run_new_reads_any_bodiless_success_as_started(answer: httpx.Response) -> None:
    client = _bare_client(lambda request: answer)
    result = asyncio.run(_run_new(client))
    assert result is None


def test_run_new_answered_by_the_web_app_is_one_clear_error() -> None:
    client = _bare_client(lambda request: httpx.Response(200, html="<html>ImmyBot</html>"))
    with pytest.raises(ImmyUnexpectedContent, match="run-immy-service-new"):
        asyncio.run(_run_new(client))


async def _run_new(client: ImmyBotClient) -> None:
    try:
        return await client.run_immy_service_new(computer_ids=[5], software=CHROME, action=DesiredState.LATEST,
                                                 options=RunOptions(), session_group_id=GROUP,
                                                 schedule=Schedule.at_time("18:30", "Europe/Paris"))  # fmt: skip
    finally:
        await client.aclose()


_schedules = st.one_of(
    st.just(Schedule.now()),
    st.just(Schedule.after_hours()),
    st.builds(Schedule.at_time, st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59)),
              st.sampled_from(ZONES)),
)  # fmt: skip


@given(schedule=_schedules, preview=st.booleans(), reboot=st.sampled_from(RebootPreference),
       offline=st.sampled_from(OfflineBehavior), action=st.sampled_from(DesiredState), group=st.uuids())  # fmt: skip
def test_every_scheduled_or_preview_body_is_valid(
    schedule: Schedule, preview: bool, reboot: RebootPreference, offline: OfflineBehavior, action: DesiredState,
    group: Any,
) -> None:  # fmt: skip
    require_shared(OPENAPI)
    body = run_body(computer_ids=[1, 2], software=CHROME, action=action,
                    options=RunOptions(preview=preview, reboot=reboot, offline=offline),
                    session_group_id=str(group), schedule=schedule)  # fmt: skip
    for path in ("/api/v1/run-immy-service", "/api/v1/run-immy-service-new"):
        schema = oas.to_json_schema(oas.request_schema(path), max_items=10_000)
        jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
    assert body["detectionOnly"] is preview
    assert body["updateTime"] == (f"{schedule.at:%H:%M}" if schedule.at else None)
    assert body["scheduleExecutionAfterActiveHours"] is (schedule.when is When.AFTER_HOURS)
    assert (body["timeZoneInfoId"] is None) is (schedule.at is None)


def test_bad_schedules_are_refused_before_anything_is_sent() -> None:
    for bad in ("24:00", "9:5", "18:3", "noon"):
        with pytest.raises(ValueError):
            Schedule.at_time(bad, "UTC")
    # an unknown zone is not sent to ImmyBot: it falls back to UTC, flagged for the cards
    assert Schedule.at_time("18:30", "Mars/Olympus").run_fields()["timeZoneInfoId"] == "UTC"


_ACTION = TypeAdapter(MaintenanceAction)


def _verdict(row: dict[str, Any]) -> Verdict:
    """ImmyBot's row → the adapter's plain facts → the domain's one verdict mapping."""
    for status in ("Running", "Passed", "Failed"):
        session = SessionInfo(session_id=1, computer_id=1, status=status)
        found = computer_preview(action_facts(_ACTION.validate_python(row), session, "PC")).verdict
    return found


def test_any_action_the_schema_allows_gets_a_verdict() -> None:
    require_shared(OPENAPI)
    schema = oas.to_json_schema({"$ref": "#/components/schemas/GetMaintenanceActionResponse"}, max_items=2)

    @given(st.lists(from_schema(schema), max_size=4))
    def check(rows: list[dict[str, Any]]) -> None:
        verdicts = [_verdict(row) for row in rows]
        assert all(isinstance(v, Verdict) for v in verdicts)

    check()
    for row in oas.extremes(schema):  # every nullable null, optional absent, unknown enum values
        assert isinstance(_verdict(row), Verdict)
