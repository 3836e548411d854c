"""The Bolt app: its Web API client (rate-limit retries, error metrics), middleware, error handler
and every feature's listeners. No I/O at build time.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Awaitable, Callable

import httpx
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.config import Settings
from bot.slack.approvals import listeners as approvals
from bot.slack.approvals.deps import ApprovalsDeps
from bot.slack.commands import listeners as commands
from bot.slack.commands.deps import CommandsDeps
from bot.slack.errors import NONE_NAMED, DependencyErrors, install_error_handler
from bot.slack.home import listeners as home
from bot.slack.home.deps import HomeDeps
from bot.slack.middleware import install_dedup, install_shape_check
from bot.slack.reports import followups
from bot.slack.reports.deps import FollowUpsDeps
from bot.slack.requests import listeners as requests
from bot.slack.requests.deps import RequestsDeps

SLACK_TIMEOUT_SECONDS = 15
RATE_LIMIT_RETRIES = 4


def make_client(settings: Settings) -> AsyncWebClient:
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT_SECONDS,
        retry_handlers=[
            metrics.SlackErrorRecorder(),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


def make_app(settings: Settings, client: AsyncWebClient) -> AsyncApp:
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    # bot.web checks every HTTP delivery's signature (and size) before Bolt sees it; Socket Mode
    # deliveries are not signed. Bolt's own check would verify the same HMAC a second time.
    return AsyncApp(client=client, signing_secret=secret, name="immybot-slack", request_verification_enabled=False)


def immybot_transport() -> httpx.AsyncBaseTransport:
    """ImmyBot's HTTP transport, timed per route; a private CA from SSL_CERT_FILE / REQUESTS_CA_BUNDLE."""
    bundle = os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=bundle) if bundle else True
    return metrics.InstrumentedTransport(httpx.AsyncHTTPTransport(verify=verify))


def wire(
    app: AsyncApp,
    *,
    claim_delivery: Callable[[str], Awaitable[bool]],
    requests_deps: RequestsDeps,
    commands_deps: CommandsDeps,
    approvals_deps: ApprovalsDeps,
    home_deps: HomeDeps,
    followups_deps: FollowUpsDeps | None = None,
    dependency_errors: DependencyErrors = NONE_NAMED,
) -> None:
    """Middleware first (shape, then dedup), then the one error handler, then the features."""
    app.middleware(metrics.AckTiming())
    install_shape_check(app)
    install_dedup(app, claim_delivery, on_duplicate=lambda key: metrics.REFUSALS.labels("duplicate_delivery").inc())
    install_error_handler(app, dependencies=dependency_errors)
    requests.register(app, requests_deps)  # first: Bolt tries listeners in order, and keystrokes are the most frequent
    commands.register(app, commands_deps)
    approvals.register(app, approvals_deps)
    home.register(app, home_deps)
    if followups_deps is not None:
        followups.register(app, followups_deps)
