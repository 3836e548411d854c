"""Read `POLICY_FILE` (SPEC §6): YAML, checked by pydantic, mapped to the domain's `PolicyDoc`.

Every problem is one line naming the file, the place (`rules[0].when.actions`, list positions
counted from 0 as in the file's own order) with its line number, and what is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator as After
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    ValidationError,
)

from bot.workflow.model import DesiredState
from bot.workflow.rules import PolicyDoc, Reminders, RuleSpec, Scope, Tenants, When

# The same shapes APPROVERS and APPROVAL_CHANNEL accept (bot/config.py).
_USER_OR_GROUP = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")
_ACTIONS = {state.value.casefold(): state.value for state in DesiredState}


class PolicyError(Exception):
    """The policy file cannot be used. `str(err)` is one line: file, place, line number, problem."""


def _listed(value: object) -> object:
    """A single value where a list is expected is read as a list of one (`actions: NotPresent`)."""
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def _identity(value: str) -> str:
    if not _USER_OR_GROUP.match(value):
        raise ValueError(f"{value!r} is not a Slack user (U…, W…) or user group (S…) ID")
    return value


def _channel(value: str) -> str:
    if not _CHANNEL.match(value):
        raise ValueError(f"{value!r} is not a Slack channel ID (C…, G…)")
    return value


def _action(value: str) -> str:
    if value.casefold() not in _ACTIONS:
        raise ValueError(f"{value!r} is not a desired state (one of {', '.join(_ACTIONS.values())})")
    return _ACTIONS[value.casefold()]


def _catalog(value: str) -> str:
    for name in ("Global", "Local"):
        if value.casefold() == name.casefold():
            return name
    raise ValueError(f"{value!r} is not a catalog (Global or Local)")


def _tenant(value: object) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(
        f"{value!r} is not a tenant name or id (quote a name YAML reads otherwise, like 'no', 'on' or '2024')"
    )


Text = Annotated[str, Field(strict=True, min_length=1)]
Identity = Annotated[Text, After(_identity)]
Identities = Annotated[list[Identity], BeforeValidator(_listed), Field(min_length=1)]
TenantRef = Annotated[int | str, PlainValidator(_tenant)]  # a bare `no` is a bool in YAML: refused, not "False"
TenantRefs = Annotated[list[TenantRef], BeforeValidator(_listed), Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Scope(_Strict):
    members: Identities
    tenants: TenantRefs


class _When(_Strict):
    tenants: TenantRefs | None = None
    software: Annotated[list[Text], BeforeValidator(_listed), Field(min_length=1)] | None = None
    catalog: Annotated[list[Annotated[Text, After(_catalog)]], BeforeValidator(_listed), Field(min_length=1)] | None = (
        None
    )
    actions: Annotated[list[Annotated[Text, After(_action)]], BeforeValidator(_listed), Field(min_length=1)] | None = (
        None
    )
    min_targets: Annotated[StrictInt, Field(ge=1)] | None = None
    preview: StrictBool | None = None
    requesters: Identities | None = None


class _Rule(_Strict):
    name: Annotated[Text, Field(max_length=100)]
    when: _When = Field(default_factory=_When)
    approvers: Identities | None = None
    approvals: Annotated[StrictInt, Field(ge=0, le=20)] | None = None
    channel: Annotated[Text, After(_channel)] | None = None
    allow_self_approval: StrictBool | None = None
    ttl_hours: Annotated[float, Field(gt=0)] | None = None


class _Reminders(_Strict):
    after_minutes: Annotated[float, Field(gt=0)]
    repeat: Annotated[StrictInt, Field(ge=0, le=100)] = 1
    escalate_to: Annotated[list[Identity], BeforeValidator(_listed)] = Field(default_factory=list)


class _Policy(_Strict):
    scopes: Annotated[list[_Scope], Field(min_length=1)] | None = None
    rules: list[_Rule] = Field(default_factory=list)
    reminders: _Reminders | None = None


def _frozen(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


def _to_domain(model: _Policy) -> PolicyDoc:
    rules = tuple(
        RuleSpec(
            name=rule.name,
            when=When(
                tenants=None if rule.when.tenants is None else Tenants.of(rule.when.tenants),
                software=None if rule.when.software is None else tuple(rule.when.software),
                catalogs=_frozen(rule.when.catalog),
                actions=_frozen(rule.when.actions),
                min_targets=rule.when.min_targets,
                preview=rule.when.preview,
                requesters=_frozen(rule.when.requesters),
            ),
            approvers=_frozen(rule.approvers),
            approvals=rule.approvals,
            channel=rule.channel,
            allow_self_approval=rule.allow_self_approval,
            ttl_hours=rule.ttl_hours,
        )
        for rule in model.rules
    )
    scopes = None
    if model.scopes is not None:
        scopes = tuple(Scope(frozenset(s.members), Tenants.of(s.tenants)) for s in model.scopes)
    reminders = None
    if model.reminders is not None:
        r = model.reminders
        reminders = Reminders(r.after_minutes, r.repeat, frozenset(r.escalate_to))
    return PolicyDoc(scopes=scopes, rules=rules, reminders=reminders)


# ---- YAML with line numbers -----------------------------------------------------------------------

Place = tuple[str | int, ...]


def _place(loc: Place) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"


def _lines(node: yaml.Node, place: Place, lines: dict[Place, int], source: str) -> None:
    """Record each place's line (1-based); refuse duplicate keys, which YAML would silently overwrite."""
    lines.setdefault(place, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            name = key.value
            if name in seen:
                raise PolicyError(f"{source}: {_place((*place, name))} (line {key.start_mark.line + 1}): duplicate key")
            seen.add(name)
            lines[(*place, name)] = key.start_mark.line + 1
            _lines(value, (*place, name), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*place, index), lines, source)


def _line_of(loc: Place, lines: dict[Place, int]) -> int | None:
    for end in range(len(loc), -1, -1):  # a missing key: the line of the mapping it is missing from
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _problem(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    kind = error.get("type")
    if kind == "missing":
        return "required but missing"
    if kind == "extra_forbidden":
        return "unknown key"
    return message


def parse_policy(text: str, source: str = "<policy>") -> PolicyDoc:
    """Check a policy document's text; raise `PolicyError` with one line on the first problem."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1})" if mark else ""
        raise PolicyError(f"{source}{where}: not valid YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise PolicyError(f"{source}: not valid YAML: {str(error).splitlines()[0]}") from None
    lines: dict[Place, int] = {}
    if node is not None:
        _lines(node, (), lines, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{source} (line 1): the top level must be a mapping of scopes, rules and reminders")
    try:
        model = _Policy.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(first.get("loc") or ())
        line = _line_of(loc, lines)
        where = f" (line {line})" if line else ""
        raise PolicyError(f"{source}: {_place(loc)}{where}: {_problem(first)}") from None
    names = [rule.name.casefold() for rule in model.rules]
    for index, name in enumerate(names):
        if name in names[:index]:
            loc = ("rules", index, "name")
            raise PolicyError(
                f"{source}: {_place(loc)} (line {_line_of(loc, lines)}): rule name {model.rules[index].name!r}"
                " is used twice (names appear on approval cards and in the audit log)"
            )
    for index, rule in enumerate(model.rules):
        people = set(rule.approvers or ())
        if rule.approvals and rule.approvers is not None and not any(i.startswith("S") for i in people):
            if len(people) < rule.approvals:
                loc = ("rules", index, "approvals")
                raise PolicyError(
                    f"{source}: {_place(loc)} (line {_line_of(loc, lines)}): {rule.approvals} distinct approvals"
                    f" can never be reached with {len(people)} approver(s) and no user group"
                )
    return _to_domain(model)


def load_policy(path: str | Path) -> PolicyDoc:
    """Read and check the policy file at `path`; raise `PolicyError` with one line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise PolicyError(f"{path}: cannot read the policy file: {reason}") from None
    return parse_policy(text, str(path))
