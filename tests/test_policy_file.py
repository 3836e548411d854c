"""POLICY_FILE: the YAML loader's checks (one line: file, place, line, problem) and `policy check`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.policy_file import PolicyError, load_policy, parse_policy
from bot.workflow.rules import Defaults, RequestFacts, Tenants, rule_for, tenants_for
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "policy.yml"
SPEC_EXAMPLE = """\
scopes:
  - members: [S0CONTOSOTECHS, U0REQUESTER]
    tenants: [Contoso Ltd]
  - members: [S0MSPADMINS]
    tenants: ["*"]
rules:
  - name: uninstalls need two
    when: {actions: [NotPresent]}
    approvals: 2
  - name: fabrikam leads
    when: {tenants: [Fabrikam Inc]}
    approvers: [U0FABLEAD, S0FABLEADS]
    channel: C0FABRIKAM
  - name: previews are free
    when: {preview: true}
    approvals: 0
reminders:
  after_minutes: 30
  repeat: 2
  escalate_to: [U0ONCALL]
"""


def test_the_spec_example_maps_to_the_domain() -> None:
    policy = parse_policy(SPEC_EXAMPLE, "p.yml")
    assert policy.scopes is not None and len(policy.scopes) == 2
    assert policy.scopes[0].members == frozenset({"S0CONTOSOTECHS", "U0REQUESTER"})
    assert policy.scopes[0].tenants == Tenants.of(["contoso ltd"])
    assert policy.scopes[1].tenants.every
    assert [r.name for r in policy.rules] == ["uninstalls need two", "fabrikam leads", "previews are free"]
    assert policy.rules[0].when.actions == frozenset({"NotPresent"}) and policy.rules[0].approvals == 2
    assert policy.rules[0].approvers is None and policy.rules[0].channel is None  # from the settings
    assert policy.rules[1].approvers == frozenset({"U0FABLEAD", "S0FABLEADS"})
    assert policy.rules[2].when.preview is True and policy.rules[2].approvals == 0
    assert policy.reminders is not None and policy.reminders.escalate_to == frozenset({"U0ONCALL"})
    assert policy.group_ids() == frozenset({"S0CONTOSOTECHS", "S0MSPADMINS", "S0FABLEADS"})


def test_empty_file_is_the_implicit_policy() -> None:
    policy = parse_policy("# nothing yet\n", "p.yml")
    assert policy.scopes is None and policy.rules == () and policy.reminders is None


def test_convenience_spellings() -> None:
    policy = parse_policy("rules:\n  - name: a\n    when: {actions: notpresent, catalog: local, tenants: 42}\n")
    when = policy.rules[0].when
    assert when.actions == frozenset({"NotPresent"}) and when.catalogs == frozenset({"Local"})
    assert when.tenants == Tenants.of([42])


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("rules:\n  - name: a\n    when: {actions: [Remove]}\n",
         "p.yml: rules[0].when.actions[0] (line 3): 'Remove' is not a desired state "
         "(one of LatestVersion, AnyVersion, UpdateIfFound, NotPresent)"),
        ("rules:\n  - name: a\n    when:\n      actons: [NotPresent]\n",
         "p.yml: rules[0].when.actons (line 4): unknown key"),
        ("scope:\n  - members: [U0A]\n", "p.yml: scope (line 1): unknown key"),
        ("rules:\n  - name: a\n  - when: {}\n", "p.yml: rules[1].name (line 3): required but missing"),
        ("rules:\n  - name: a\n    channel: U0NOTACHANNEL\n",
         "p.yml: rules[0].channel (line 3): 'U0NOTACHANNEL' is not a Slack channel ID (C…, G…)"),
        ("scopes:\n  - members: [bob]\n    tenants: ['*']\n",
         "p.yml: scopes[0].members[0] (line 2): 'bob' is not a Slack user (U…, W…) or user group (S…) ID"),
        ("rules:\n  - name: a\n    approvers: [C0CHANNEL]\n",
         "p.yml: rules[0].approvers[0] (line 3): 'C0CHANNEL' is not a Slack user (U…, W…) or user group (S…) ID"),
        ("reminders:\n  after_minutes: 5\n  escalate_to: [u0lower]\n",
         "p.yml: reminders.escalate_to[0] (line 3): 'u0lower' is not a Slack user (U…, W…) or user group (S…) ID"),
        ("scopes:\n  - members: [S0A]\n    tenants: [no]\n",
         "p.yml: scopes[0].tenants[0] (line 3): False is not a tenant name or id "
         "(quote a name YAML reads otherwise, like 'no', 'on' or '2024')"),
        ("scopes: []\n", "p.yml: scopes (line 1): List should have at least 1 item after validation, not 0"),
        ("rules:\n  - name: a\n    approvals: -1\n",
         "p.yml: rules[0].approvals (line 3): Input should be greater than or equal to 0"),
        ("rules:\n  - name: a\n    when: {catalog: Foo}\n",
         "p.yml: rules[0].when.catalog[0] (line 3): 'Foo' is not a catalog (Global or Local)"),
        ("rules:\n  - name: a\n    when: {preview: maybe}\n",
         "p.yml: rules[0].when.preview (line 3): Input should be a valid boolean"),
        ("reminders:\n  repeat: 2\n", "p.yml: reminders.after_minutes (line 1): required but missing"),
        ("rules:\n  - name: a\n  - name: A\n",
         "p.yml: rules[1].name (line 3): rule name 'A' is used twice "
         "(names appear on approval cards and in the audit log)"),
        ("rules:\n  - name: a\n    name: b\n", "p.yml: rules[0].name (line 3): duplicate key"),
        ("rules:\n  - name: a\n    approvers: [U0ONE]\n    approvals: 2\n",
         "p.yml: rules[0].approvals (line 4): 2 distinct approvals can never be reached with 1 approver(s) "
         "and no user group"),
        ("rules: [\n", "p.yml (line 2): not valid YAML: expected the node content, but found '<stream end>'"),
        ("- a\n", "p.yml (line 1): the top level must be a mapping of scopes, rules and reminders"),
    ],
)  # fmt: skip
def test_each_error_is_one_line_with_place_and_line(text: str, line: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yml")
    assert str(caught.value) == line
    assert "\n" not in str(caught.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"^.*missing\.yml: cannot read the policy file: No such file"):
        load_policy(tmp_path / "missing.yml")


def test_the_readme_example_is_valid_and_decides_as_described() -> None:
    policy = load_policy(EXAMPLE)
    defaults = Defaults(approvers=frozenset({"U0APPROVER"}), channel="C0APPROVALS")
    contoso, fabrikam = (7, "Contoso Ltd"), (42, "Fabrikam Inc")

    def decide(**kw: object) -> str:
        base: dict[str, object] = dict(requester="U0T1", software_name="7-Zip", catalog="Global",
                                       action="LatestVersion", target_tenants=[contoso], preview=False)  # fmt: skip
        return rule_for(policy, RequestFacts(**{**base, **kw}), frozenset({"S0CONTOSOT1"}), defaults).name  # type: ignore[arg-type]

    assert decide(preview=True, action="NotPresent", target_tenants=[contoso] * 30) == "previews are free"
    assert decide(action="NotPresent") == "uninstalls need two"
    assert decide(target_tenants=[contoso] * 11) == "more than 10 computers need two"
    assert decide(target_tenants=[contoso] * 10) == "contoso lead"
    assert decide(target_tenants=[fabrikam]) == "fabrikam lead"
    assert decide(target_tenants=[(9, "Tailspin")]) != "contoso lead"
    tech = tenants_for(policy, "U0T1", frozenset({"S0CONTOSOT1"}))
    assert tech.contains(*contoso) and not tech.contains(*fabrikam)
    assert tenants_for(policy, "U0BOSS", frozenset({"S0MSPADMINS"})).every


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "policy", "check", *args], capture_output=True, text=True,
                          timeout=60, env=env)  # fmt: skip


def test_policy_check_prints_the_policy_in_words() -> None:
    proc = _cli(str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert f"{EXAMPLE}: valid." in proc.stdout
    assert '  1. group S0CONTOSOT1, U0CONTOSOLEAD → "Contoso Ltd"' in proc.stdout
    assert "  3. group S0MSPADMINS → every tenant" in proc.stdout
    assert '"previews are free": when it is a preview → approved by the policy at submission' in proc.stdout
    assert '"uninstalls need two": when the action is NotPresent → 2 approvals from distinct approvers' in proc.stdout
    assert '"more than 10 computers need two": when at least 11 computers' in proc.stdout
    assert "then escalated to U0ONCALL" in proc.stdout


def test_policy_check_error_is_one_line_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("rules:\n  - name: a\n    when:\n      actions: [Remove]\n")
    proc = _cli(str(bad))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"immybot-slack: policy error: {bad}: rules[0].when.actions[0] (line 4): 'Remove' is not a desired state "
        "(one of LatestVersion, AnyVersion, UpdateIfFound, NotPresent)"
    ]


def test_policy_check_defaults_to_policy_file() -> None:
    env = {k: v for k, v in os.environ.items() if k != "POLICY_FILE"}
    proc = _cli(env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "immybot-slack: policy check: no FILE given and POLICY_FILE is not set"
    proc = _cli(env={**env, "POLICY_FILE": str(EXAMPLE)})
    assert proc.returncode == 0 and f"{EXAMPLE}: valid." in proc.stdout


def test_the_readme_shows_the_example_file() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Policy\n", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert parse_policy(block, "README.md") == load_policy(EXAMPLE)


async def test_doctor_checks_the_policy_file(valid_env: dict[str, str], tmp_path: Path, monkeypatch) -> None:
    from bot.config import load_settings
    from bot.policy_checks import policy_checks

    async def lines() -> list[str]:
        return [check.line() async for check in policy_checks(load_settings())]

    assert (await lines())[0].startswith("[ok  ] policy: POLICY_FILE not set")
    monkeypatch.setenv("POLICY_FILE", str(EXAMPLE))
    assert await lines() == [f"[ok  ] policy: {EXAMPLE}: valid (3 scopes, 5 rules)"]
    bad = tmp_path / "bad.yml"
    bad.write_text("rules:\n  - name: a\n    colour: red\n")
    monkeypatch.setenv("POLICY_FILE", str(bad))
    assert await lines() == [
        f"[FAIL] policy: {bad}: rules[0].colour (line 3): unknown key"
        f" — fix: correct the file (immybot-slack policy check {bad}), or unset POLICY_FILE"
    ]
