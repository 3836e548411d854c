"""`immybot-slack doctor`'s ImmyBot checks end to end against the fake Entra and fake ImmyBot."""

from __future__ import annotations

from io import StringIO

import pytest

from bot.config import load_settings
from bot.doctor import run_doctor
from bot.immybot.checks import immybot_checks
from immybot_slack_sandbox.immy_faults import Fault
from immybot_slack_sandbox.immy_sandbox import ImmySandbox


async def immy_lines(immy: ImmySandbox) -> list[str]:
    return [check.line() async for check in immybot_checks(load_settings())]


async def test_doctor_success(immy: ImmySandbox) -> None:
    lines = await immy_lines(immy)
    assert lines == [
        f"[ok  ] Entra token: token minted for {immy.base_url}/.default",
        f"[ok  ] ImmyBot API: {immy.base_url}: 61 global and 12 local software, 60 computers",
    ]
    out = StringIO()
    await run_doctor(out=out, settings=load_settings())
    assert "[ok  ] Entra token" in out.getvalue() and "[ok  ] ImmyBot API" in out.getvalue()
    assert immy.entra.client_secret not in out.getvalue()


async def test_doctor_immybot_401_names_the_enterprise_app_fix(immy: ImmySandbox) -> None:
    immy.immybot.authorized_clients = set()
    out = StringIO()
    code = await run_doctor(out=out, settings=load_settings())
    text = out.getvalue()
    assert code == 1
    assert "[ok  ] Entra token" in text
    line = next(line for line in text.splitlines() if "ImmyBot API" in line)
    assert line.startswith("[FAIL] ImmyBot API") and "401" in line
    assert "Enterprise Application's Object ID" in line and "not the App Registration's" in line
    assert immy.entra.client_secret not in text


async def test_doctor_bad_secret_shows_aadsts_and_never_the_secret(
    immy: ImmySandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "7f3e9c1a-0b2d-4c5e-8f9a-secret-id-instead"
    monkeypatch.setenv("IMMYBOT_CLIENT_SECRET", wrong)
    out = StringIO()
    code = await run_doctor(out=out, settings=load_settings())
    text = out.getvalue()
    assert code == 1
    line = next(line for line in text.splitlines() if "Entra token" in line)
    assert line.startswith("[FAIL] Entra token") and "AADSTS7000215" in line and "VALUE" in line
    assert "ImmyBot API" not in text  # nothing to try without a token
    assert wrong not in text and immy.entra.client_secret not in text


async def test_doctor_html_instead_of_json(immy: ImmySandbox) -> None:
    immy.immybot.faults.always("/api/v1/software/*", Fault.html())
    lines = await immy_lines(immy)
    assert lines[1].startswith("[FAIL] ImmyBot API: unexpected content from GET /api/v1/software/")
