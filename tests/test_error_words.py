"""The words a person sees when ImmyBot fails: the Slack adapter's error handler knows ImmyBot's errors only
as the composition root names them (bot.slack never imports bot.immybot; pyproject's import contract)."""

from __future__ import annotations

import pytest

from bot.immybot.errors import ImmyAuthError, ImmyForbidden, ImmyNotFound, ImmyRateLimited
from bot.services import IMMYBOT_ERRORS
from bot.slack.errors import GENERIC, IMMYBOT_DOWN, IMMYBOT_MISCONFIGURED, user_message
from bot.workflow.errors import BackendUnavailable


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (ImmyAuthError("AADSTS7000215: invalid client secret", code="7000215"), IMMYBOT_MISCONFIGURED),
        (ImmyForbidden("403 on GET /api/v1/computers/1"), IMMYBOT_MISCONFIGURED),
        (ImmyRateLimited("429 on GET /api/v1/computers/1"), IMMYBOT_DOWN),
        (ImmyNotFound("404 on GET /api/v1/computers/1"), IMMYBOT_DOWN),
        (TimeoutError(), IMMYBOT_DOWN),
        (BackendUnavailable("ImmyBot did not answer"), "ImmyBot did not answer"),
        (RuntimeError("secret-ish internals"), GENERIC),
    ],
)
def test_immybot_failures_read_as_the_composition_root_names_them(error: BaseException, words: str) -> None:
    assert user_message(error, IMMYBOT_ERRORS) == words
