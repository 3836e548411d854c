"""ImmyBot values the bot does not know (SPEC §5, issue 9): a session in a status newer than the bot's
enum is followed until it reaches a known terminal status; an action of an unknown type is reported as
such; `maintenanceActions: null` (actions not asked for) never stops the loop."""

from __future__ import annotations

from typing import Any

import pytest

from bot.immybot.models import MaintenanceAction, MaintenanceSession
from bot.immybot.port import ACTION_LABELS
from bot.workflow.model import Outcome
from tests.follower.conftest import Rig


async def test_a_session_in_an_unknown_status_is_followed_to_its_end(rig: Rig) -> None:
    (computer,) = rig.computers(1)
    rig.fake.script_computer(computer.id, ["Created", "#99", "#99", "Running", "Passed"])
    request = await rig.approved([computer])

    done = await rig.finished(request.id)

    assert done.outcome is Outcome.PASSED
    assert [s.status for s in done.sessions] == ["Passed"]
    assert rig.fake.session(done.sessions[0].session_id).step == 4  # read through both unknown steps


@pytest.mark.parametrize(("raw", "name"), [(42, "Unknown(42)"), ("TaskRemediate", "TaskRemediate"), (None, None)])
def test_an_action_of_an_unknown_type_is_kept_and_reported_as_such(raw: Any, name: str | None) -> None:
    action = MaintenanceAction.model_validate({"id": 1, "actionType": raw, "result": 77, "status": "Brand new"})
    assert action.action_type == name and action.result == "Unknown(77)" and action.status == "Brand new"
    assert ACTION_LABELS.get(action.action_type or "", action.action_type) == name


def test_a_session_without_a_status_is_unknown_not_an_error() -> None:
    session = MaintenanceSession.model_validate({"id": 5, "maintenanceActions": None, "sessionJobArgs": None})
    assert session.status == "Unknown" and session.actions == [] and session.session_group_id is None
