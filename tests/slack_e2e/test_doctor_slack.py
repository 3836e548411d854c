"""`doctor`'s Slack checks against the fake Slack: a good token, a wrong one, an unreachable host."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.slack.checks import slack_checks
from immybot_slack_sandbox.slack import FakeSlack
from tests.conftest import VALID_ENV


async def _checks(**overrides: str) -> list:
    settings = load_settings(**{**{k.lower(): v for k, v in VALID_ENV.items()}, **overrides})
    return [check async for check in slack_checks(settings)]


async def test_good_token_passes() -> None:
    fake = FakeSlack(bot_token="xoxb-good")
    async with fake.serve():
        (check,) = await _checks(slack_bot_token="xoxb-good", slack_api_url=fake.api_url)
    assert check.ok, check.line()


async def test_wrong_token_names_the_fix_without_the_secret() -> None:
    fake = FakeSlack(bot_token="xoxb-good")
    async with fake.serve():
        (check,) = await _checks(slack_bot_token="xoxb-wrong-secret-value", slack_api_url=fake.api_url)
    assert not check.ok and "invalid_auth" in check.detail and "SLACK_BOT_TOKEN" in (check.fix or "")
    assert "xoxb-wrong-secret-value" not in check.line()


async def test_socket_mode_app_token_is_checked() -> None:
    fake = FakeSlack(bot_token="xoxb-good", app_token="xapp-good")
    async with fake.serve():
        checks = await _checks(slack_bot_token="xoxb-good", slack_app_token="xapp-bad", slack_api_url=fake.api_url)
    assert checks[0].ok and not checks[1].ok and "SLACK_APP_TOKEN" in (checks[1].fix or "")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/api/"])
async def test_unreachable_host_is_named(url: str) -> None:
    (check,) = await _checks(slack_api_url=url)
    assert not check.ok and url in check.detail
