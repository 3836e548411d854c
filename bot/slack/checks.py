"""Doctor checks for Slack: the bot token (`auth.test`) and, in Socket Mode, the app-level token."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.doctor import Check

_WRONG_BOT_TOKEN = (
    "SLACK_BOT_TOKEN is wrong or revoked: copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions, "
    "and reinstall the app to the workspace if it was removed"
)
_WRONG_APP_TOKEN = (
    "SLACK_APP_TOKEN is wrong or revoked: create an app-level token with the connections:write scope under "
    "Basic Information → App-Level Tokens, and turn Socket Mode on"
)


async def slack_checks(settings: Settings) -> AsyncIterator[Check]:
    client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url,
                            timeout=10)
    yield await _bot_token(client, settings)
    if settings.slack_app_token is not None:
        yield await _app_token(client, settings)


async def _bot_token(client: AsyncWebClient, settings: Settings) -> Check:
    name = "slack bot token"
    try:
        response = await client.auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error", "unknown_error"))
        fix = _WRONG_BOT_TOKEN if code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked") \
            else "check the Slack app's configuration"
        return Check(name, False, f"Slack answered auth.test with '{code}'", fix)
    except (ClientError, OSError, TimeoutError) as error:
        return Check(name, False, f"cannot reach {settings.slack_api_url} ({type(error).__name__})",
                     "check SLACK_API_URL, DNS and any proxy or firewall between the bot and Slack")
    team = response.get("team") or response.get("team_id") or "?"
    user = response.get("user") or response.get("user_id") or "?"
    return Check(name, True, f"authenticated as {user} in {team}")


async def _app_token(client: AsyncWebClient, settings: Settings) -> Check:
    name = "slack app token (Socket Mode)"
    assert settings.slack_app_token is not None
    try:
        await client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
    except SlackApiError as error:
        code = str(error.response.get("error", "unknown_error"))
        return Check(name, False, f"Slack answered apps.connections.open with '{code}'", _WRONG_APP_TOKEN)
    except (ClientError, OSError, TimeoutError) as error:
        return Check(name, False, f"cannot reach {settings.slack_api_url} ({type(error).__name__})",
                     "check SLACK_API_URL, DNS and any proxy or firewall between the bot and Slack")
    return Check(name, True, "Socket Mode connections can be opened")
