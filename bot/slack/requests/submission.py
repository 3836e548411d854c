"""From a parsed request form to a `Draft`: look up the software and resolve the targets.

A person resolves through their Slack profile email; an email through the cached computer list,
confirmed live with ImmyBot under a tight timeout so the modal's ack stays inside 3 s.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError

from bot.slack.answers import answer_field
from bot.slack.requests import ids
from bot.slack.requests.deps import RequestsDeps
from bot.slack.requests.form import FormError, RequestForm
from bot.slack.text import escape
from bot.workflow.model import Computer, Draft, RunOptions, Software, Targets
from bot.workflow.schedule import When

log = logging.getLogger(__name__)

LIVE_LOOKUP_SECONDS = 1.2


def _software(deps: RequestsDeps, form: RequestForm) -> Software:
    if not form.software_key:
        raise FormError({ids.SOFTWARE_BLOCK: "Choose the software to deploy."}, "no software chosen")
    item = deps.catalog.software_by_key(form.software_key)
    if item is None:
        raise FormError({ids.SOFTWARE_BLOCK: "That software is no longer in the catalog; search again."},
                        "software not in the catalog")
    return item.to_software()


async def _profile_email(deps: RequestsDeps, user: str) -> str | None:
    try:
        info = await deps.client.users_info(user=user)
    except SlackApiError as error:
        log.info("users.info failed", extra={"error": error.response.get("error")})
        return None
    email = answer_field(info, "user", "profile", "email")  # absent when the workspace hides emails
    return str(email).strip() if isinstance(email, str) and email.strip() else None


async def profile_tz(deps: RequestsDeps, user: str) -> str | None:
    """The requester's IANA time zone (`users.info` `user.tz`); None when absent or unreadable: the
    schedule then falls back to UTC and the cards say so."""
    try:
        info = await deps.client.users_info(user=user)
    except SlackApiError as error:
        log.info("users.info failed", extra={"error": error.response.get("error")})
        return None
    tz = answer_field(info, "user", "tz")
    return tz.strip() if isinstance(tz, str) and tz.strip() else None


async def _computers_for_email(deps: RequestsDeps, email: str, requester: str) -> list[Computer]:
    """The computers whose primary user is `email`, among the requester's tenants only (SPEC §6)."""
    scope = await deps.policy.tenants(requester)
    cached = list(deps.catalog.computers_by_email(email))
    try:
        rows = await asyncio.wait_for(deps.catalog.computers_for_email(email), LIVE_LOOKUP_SECONDS)
    except Exception as error:  # a slow or failing ImmyBot must not break the modal: trust the cache
        log.info("live email lookup failed; using the cached computers", extra={"error": type(error).__name__})
        rows = cached
    return [row.to_computer() for row in rows if scope.contains(row.tenant_id, row.tenant_name)]


async def _targets(deps: RequestsDeps, form: RequestForm, requester: str) -> Targets:
    filled = form.target_blocks
    if not filled:
        raise FormError({ids.COMPUTERS_BLOCK: "Choose computers, a person or an email."}, "no target given")
    if len(filled) > 1:
        message = "Fill only one of computers, a person or an email."
        raise FormError({block: message for block in filled}, "more than one kind of target")
    if form.computer_ids:
        rows = [deps.catalog.computer_by_id(computer_id) for computer_id in form.computer_ids]
        unknown = [computer_id for computer_id, row in zip(form.computer_ids, rows, strict=True) if row is None]
        if unknown:  # only what the typeahead could have offered: a crafted id never reaches ImmyBot
            listed = ", ".join(str(computer_id) for computer_id in unknown[:10])
            raise FormError({ids.COMPUTERS_BLOCK: "Pick computers from the list: some of them are not in the "
                             "catalog (removed since, or the catalog is still loading)."},
                            f"computer not in the catalog: {listed}")
        return Targets(computers=tuple(row.to_computer() for row in rows if row is not None))
    if form.person:
        email = await _profile_email(deps, form.person)
        if not email:
            raise FormError({ids.PERSON_BLOCK: "That person has no email in their Slack profile."},
                            "person without a profile email")
        computers = await _computers_for_email(deps, email, requester)
        if not computers:
            # not their email: it may be hidden in this workspace (the audit row keeps it)
            raise FormError({ids.PERSON_BLOCK: "No computer in ImmyBot has this person as its primary user."},
                            "person with no computers")
        return Targets(computers=tuple(computers), email=email, person=form.person)
    assert form.email is not None
    computers = await _computers_for_email(deps, form.email, requester)
    if not computers:
        raise FormError({ids.EMAIL_BLOCK: f"No computer in ImmyBot has {escape(form.email)} as its primary user."},
                        "email with no computers")
    return Targets(computers=tuple(computers), email=form.email)


async def build_draft(deps: RequestsDeps, form: RequestForm, requester: str) -> Draft:
    """Raise `FormError` for what the form itself gets wrong; policy checks come at submit."""
    software = _software(deps, form)
    targets = await _targets(deps, form, requester)
    if not form.reason:
        raise FormError({ids.REASON_BLOCK: "Give a reason."}, "no reason given")
    return Draft(
        requester=requester,
        channel=form.channel,
        software=software,
        action=form.action,
        targets=targets,
        options=RunOptions(reboot=form.reboot, offline=form.offline, preview=form.preview),
        reason=form.reason,
        # the profile is read only for a clock time: Now and After business hours need no time zone
        schedule=form.schedule(await profile_tz(deps, requester) if form.when is When.AT_TIME else None),
    )
