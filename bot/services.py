"""The composition root: every long-lived part of the bot, built, started and stopped in one place.

    async with build_services(settings) as services: ...   # store, catalog, follower, Bolt app
    async with running_bot(settings) as bot: bot.url         # + HTTP server and/or Socket Mode

`running_bot` is how tests, the demo and the benchmark run the whole bot in-process: it serves
`/slack/events` (HTTP mode), `/healthz` and `/metrics` on `settings.port` (0 = a free port).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.config import Settings
from bot.health import HealthCheck, slack_probe, store_probe, token_probe
from bot.immybot.catalog import CatalogCache
from bot.immybot.client import ImmyBotClient
from bot.immybot.errors import ImmyAuthError, ImmyBotError, ImmyForbidden
from bot.policy_file import load_policy
from bot.retry import RetryPolicy, retry_call
from bot.slack.app import immybot_transport, make_app, make_client, wire
from bot.slack.approvals.deps import ApprovalsDeps
from bot.slack.checkpoints import SlackCheckpoints
from bot.slack.commands.deps import CommandsDeps
from bot.slack.errors import DependencyErrors
from bot.slack.groups import SlackGroupDirectory
from bot.slack.home.deps import HomeDeps
from bot.slack.notifier import SlackNotifier
from bot.slack.reports.deps import FollowUpsDeps, SessionLogs
from bot.slack.requests.deps import RequestsDeps
from bot.store import Store
from bot.store.audit import audit_csv
from bot.store.select import Selected, open_store
from bot.web import MAX_CONNECTIONS, build_web_app
from bot.web_server import serve
from bot.workflow.approvals import ReminderTick
from bot.workflow.checkpoints import Checkpoint, Checkpointer
from bot.workflow.expiry import tick_loop
from bot.workflow.follower import Follower
from bot.workflow.policy import Policy
from bot.workflow.ports import GroupDirectory
from bot.workflow.previewing import PreviewLedger
from bot.workflow.retry_run import FollowUps
from bot.workflow.rules import EMPTY_POLICY
from bot.workflow.service import RequestService, utc_now

log = logging.getLogger(__name__)

EXPIRY_CHECK_MAX_SECONDS = 30.0
# What an ImmyBot failure means to a person (bot.slack.errors): named here, as bot.slack never imports bot.immybot
IMMYBOT_ERRORS = DependencyErrors(unavailable=(ImmyBotError,), misconfigured=(ImmyAuthError, ImmyForbidden))
LOG_LINES = 5000  # Show log reads this many newest lines: the last that fit go ephemerally, all to the DM file


@dataclass
class Services:
    """Every long-lived part, for `running_bot`, tests and the demo (the Slack features never see it)."""

    settings: Settings
    store: Store | Any  # a PgStore with DATABASE_URL (SPEC §9)
    requests: RequestService
    policy: Policy
    immybot: ImmyBotClient
    catalog: CatalogCache
    follower: Follower
    client: AsyncWebClient
    app: AsyncApp
    health: HealthCheck
    catalog_ready: asyncio.Task[None] | None = None  # the first catalog load (it never raises)
    checkpoints: Checkpointer | None = None  # audit checkpoints in Slack (SPEC §10)
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    selected: Selected | None = None  # the backend, this replica's leases and singletons


# The first catalog load is retried until it succeeds (SPEC §5): from a few seconds, doubling, capped
# at a minute. Module-level so tests can shorten the wait instead of sleeping.
CATALOG_RETRY_FIRST_SECONDS = 5.0
CATALOG_RETRY_CAP_SECONDS = 60.0


async def _load_catalog(catalog: Any) -> None:
    """Load the catalog, retrying with backoff until it works (the typeahead is empty meanwhile)."""
    def retrying(attempt: int, error: BaseException, wait: float) -> None:
        log.error("catalog could not be loaded at start; carrying on empty and retrying",
                  extra={"error": f"{type(error).__name__}: {error}", "retry_in_s": round(wait, 3)})

    policy = RetryPolicy(attempts=None, base_seconds=CATALOG_RETRY_FIRST_SECONDS,
                         cap_seconds=CATALOG_RETRY_CAP_SECONDS, max_retry_after=None, jitter=False)
    await retry_call(catalog.load, policy, on_retry=retrying)


@contextlib.asynccontextmanager
async def build_services(settings: Settings) -> AsyncIterator[Services]:
    from bot.immybot.port import ImmyBotSessions
    from bot.slack.reports.reporter import make_reporter

    async with contextlib.AsyncExitStack() as stack:
        selected = await open_store(settings, on_takeover=metrics.LEASE_TAKEOVERS.inc,
                                    on_recovered=lambda work: metrics.RECOVERIES.labels(work).inc())
        store = selected.store
        stack.push_async_callback(store.close)
        client = make_client(settings)
        checkpoints = _checkpointer(settings, selected, client)
        stack.push_async_callback(checkpoints.aclose)  # pushed early: runs after every other part stopped
        app = make_app(settings, client)
        policy = policy_from_settings(settings, SlackGroupDirectory(client))
        lifecycle = RequestService(store, policy)  # what the reporter and the follower move and read
        immybot = ImmyBotClient(settings, transport=immybot_transport())
        stack.push_async_callback(immybot.aclose)
        catalog = CatalogCache(immybot)
        metrics.bind_catalog(catalog)
        # The first load can take minutes on a large, slow instance: Slack is served meanwhile
        # (typeahead answers from what is loaded, /healthz says "loading"), nothing waits for it.
        catalog_ready = asyncio.create_task(_load_catalog(catalog), name="catalog-first-load")
        stack.push_async_callback(_cancel, catalog_ready)
        catalog.start_refresh(settings.catalog_refresh_minutes * 60)
        stack.push_async_callback(catalog.stop)
        reporter = make_reporter(client, lifecycle, settings.base_url)
        stack.push_async_callback(reporter.aclose)
        # every step people see goes through the notifier; the use-cases tell it (`telling` below)
        notifier = SlackNotifier(client, lifecycle, reporter, approval_channel=settings.approval_channel,
                                 approval_ttl_hours=settings.approval_ttl_hours, reminders=policy.doc.reminders)
        sessions = ImmyBotSessions(immybot)
        follower = Follower(
            lifecycle,
            sessions,
            notifier,
            poll_seconds=settings.session_poll_seconds,
            max_wait=timedelta(hours=settings.session_max_wait_hours),
            on_session_end=lambda outcome: metrics.SESSIONS.labels(outcome).inc(),
            leases=selected.leases,
            singletons=selected.singletons,  # the recovery tick runs on one replica at a time
            preview_ledger=PreviewLedger(store) if settings.preview_before_approval else None,
            show_preview=notifier.preview_updated,
        )
        health = HealthCheck(
            database=store_probe(store, backend=selected.backend, leases=selected.leases),
            slack=slack_probe(client),
            immybot_token=token_probe(immybot),
            catalog=lambda: catalog,
            refresh_minutes=settings.catalog_refresh_minutes,
        )
        service = lifecycle.telling(notifier, follower)  # the Slack features' door: its steps are told
        services = Services(settings, store, service, policy, immybot, catalog, follower, client, app, health,
                            catalog_ready=catalog_ready, checkpoints=checkpoints, selected=selected)
        home = HomeDeps(service, policy, client)
        modal = RequestsDeps(service, policy, client, catalog, settings.max_targets)
        wire(
            app,
            claim_delivery=lambda key: service.claim(key, ttl_seconds=24 * 3600),
            requests_deps=modal,
            commands_deps=CommandsDeps(service, policy, client, catalog, immybot, audit_csv, modal),
            approvals_deps=ApprovalsDeps(service, client, home),
            home_deps=home,
            followups_deps=FollowUpsDeps(
                FollowUps(store, policy, retry_window=timedelta(hours=settings.retry_window_hours), clock=utc_now,
                          notifier=notifier, runs=follower),
                client, session_log_messages(immybot), settings.retry_window_hours),
            dependency_errors=IMMYBOT_ERRORS,
        )
        await follower.start()
        stack.push_async_callback(follower.aclose)
        every = min(EXPIRY_CHECK_MAX_SECONDS, max(0.2, policy.min_ttl.total_seconds() / 10))
        expiring = tick_loop(service.expire_due, every, selected.singletons, "expiry")
        expiry = asyncio.create_task(expiring, name="expiry-loop")
        stack.push_async_callback(_cancel, expiry)
        if (reminders := policy.doc.reminders) is not None:  # due times in the database: a tick, no sleepers
            tick = ReminderTick(store, policy, utc_now, notifier)
            every = min(EXPIRY_CHECK_MAX_SECONDS, max(0.2, reminders.after_minutes * 60 / 10))
            reminding = asyncio.create_task(tick_loop(tick.tick, every, selected.singletons, "reminders"),
                                            name="reminder-tick")
            stack.push_async_callback(_cancel, reminding)
        await checkpoints.start()
        yield services


def session_log_messages(immybot: ImmyBotClient) -> SessionLogs:
    """Show log's reader: the last lines' messages (the client keeps parameters and their values out)."""
    from bot.immybot.port import log_messages

    async def read(session_id: int) -> list[str]:
        return await log_messages(immybot, session_id, LOG_LINES)

    return read


def policy_from_settings(settings: Settings, groups: GroupDirectory) -> Policy:
    """The settings' implicit rule, plus POLICY_FILE's scopes, rules and reminders when it is set
    (a broken file raises `PolicyError`: start-up stops with its one line)."""
    return Policy(
        approver_users=settings.approver_users,
        approver_groups=settings.approver_groups,
        requester_users=settings.requester_users,
        requester_groups=settings.requester_groups,
        allow_self_approval=settings.allow_self_approval,
        max_targets=settings.max_targets,
        approval_ttl=timedelta(hours=settings.approval_ttl_hours),
        groups=groups,
        requests_per_hour=settings.requests_per_hour,
        doc=load_policy(settings.policy_file) if settings.policy_file else EMPTY_POLICY,
        approval_channel=settings.approval_channel,
    )


def _checkpointer(settings: Settings, selected: Selected, client: AsyncWebClient) -> Checkpointer:
    async def head() -> tuple[int, str] | None:
        async with selected.store.read() as tx:
            return await tx.audit_head()

    poster = SlackCheckpoints(client, settings.checkpoint_channel)

    async def post(checkpoint: Checkpoint) -> None:
        # replicas: one posts at a time (each at its own cadence); SQLite: always this one
        async with selected.singletons.singleton("checkpoints") as mine:
            if mine:
                await poster.post(checkpoint)

    return Checkpointer(head, post, every_seconds=settings.audit_checkpoint_minutes * 60)


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@dataclass
class RunningBot:
    services: Services
    url: str
    socket_mode: bool
    socket_handler: AsyncSocketModeHandler | None = None


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, *, socket: bool | None = None, host: str = "127.0.0.1", wait_for_catalog: bool = True
) -> AsyncIterator[RunningBot]:
    """The whole bot, serving HTTP on `settings.port` and, in Socket Mode, connected to Slack.

    `wait_for_catalog` (tests, the demo, benchmarks) yields only once the first catalog load is
    done; `immybot-slack run` serves at once and lets the catalog arrive in the background."""
    use_socket = settings.socket_mode if socket is None else socket
    settings.require_mode(socket=use_socket)
    async with build_services(settings) as services:
        if wait_for_catalog and services.catalog_ready is not None:
            await services.catalog_ready
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        web = build_web_app(
            health=services.health,
            metrics=metrics.render,
            bolt_app=None if use_socket else services.app,
            signing_secret=secret,
        )
        async with serve(web, host=host, port=settings.port, log_level="warning",
                         limit_concurrency=MAX_CONNECTIONS) as served:
            handler: AsyncSocketModeHandler | None = None
            if use_socket:
                assert settings.slack_app_token is not None
                handler = AsyncSocketModeHandler(services.app, settings.slack_app_token.get_secret_value())
                await handler.connect_async()
            try:
                yield RunningBot(services, served.url, use_socket, handler)
            finally:
                if handler is not None:
                    await handler.close_async()
