"""Pydantic models of the ImmyBot payloads the bot reads: only the fields it uses, `extra="ignore"`.

Read as openapi.json allows (SPEC §5): a `nullable` property may be null (a null list is empty), a
property that is not `required` may be absent, so every field has a default except the ids that make
a row usable (a row without one is skipped by the client, see `tolerant.Rows`).
ImmyBot serialises enums as integers in some responses and as names in others ("The string or
integer value may be used", API.md §4.2), so every enum field accepts both and keeps the NAME; a
value the bot does not know is kept as `Unknown(<n>)` (or as the unknown name), never an error.
Script parameters, logs and `taskParameterValues` are never modelled: they may hold secrets.

`SoftwareItem` and `ComputerRow` are slotted pydantic dataclasses, validated like any payload. The
catalog keeps neither: it stores their fields in flat columns and answers with `CachedSoftware` /
`CachedComputer`, plain named tuples with the same attribute names, built per result.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, NamedTuple, TypeVar

from pydantic import AfterValidator, AliasChoices, AliasPath, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.dataclasses import dataclass

from bot.workflow.model import Catalog, Computer, Software, software_key

# ---- enums: integer → name (API.md §4.2, §5.3, §5.4) -------------------------------------------

SESSION_STATUS = (
    "Passed", "Running", "Failed", "Created", "Cancelled", "Postponed", "Pending", "PartialPassed",
    "PendingConnectivity", "Missed", "MaxTrackedDevicesPerMonthExceeded", "PendingPreflight",
    "PendingEphemeralAgentConnection", "MaintenanceForTrackableDevicesNotAllowed",
)  # fmt: skip
ACTION_TYPE = (
    "NoAction", "Install", "Update", "Uninstall", "Download", "Reinstall", "Downgrade", "Undetermined",
    "TaskEnforce", "TaskMonitor", "TaskAudit",
)  # fmt: skip
ACTION_RESULT = ("Pending", "Success", "Failed", "Cancelled", "Indeterminable", "Resolved")
ACTION_STATUS = (
    "NotStarted", "Downloading", "PerformingAction", "DeterminingResult", "Complete", "WaitingForPrerequisite",
    "DeterminingAction", "Skipped", "PendingExecution",
)  # fmt: skip
MAINTENANCE_TYPE = (
    "GlobalSoftware", "LocalSoftware", "WindowsUpdate", "ChocolateySoftware", "NiniteSoftware",
    "LocalMaintenanceTask", "GlobalMaintenanceTask", "AgentUpdate",
)  # fmt: skip
DESIRED_STATE = (
    "NewerOrEqualVersion", "NotPresent", "AnyVersion", "ThisVersion", "OlderOrEqualVersion", "LatestVersion",
    "NoAction", "UpdateIfFound",
)  # fmt: skip
ACTION_REASON = (
    "SoftwareMissing", "UpdateAvailable", "UpToDate", "NotAssigned", "TestFailed", "SoftwareDetected",
    "OlderVersionRequired", "NoApplicableSoftwareVersion", "NoAction", "Undetermined", "TaskEnforce", "TaskAudit",
    "TaskMonitor", "TaskNotCompliant", "TaskCompliant", "DeviceOffline", "RepairTriggered",
)  # fmt: skip
ACTION_RESULT_REASON = (
    "NoLicenseAvailable", "SoftwareNotFound", "DetectionActionFailed", "TaskNotFound", "TaskNotCompliant",
    "TaskCompliant", "TaskSetIsMissing", "TaskTestIsMissing", "TaskGetIsMissing", "SoftwareConfigurationTaskMissing",
    "TaskModeIsMissing", "DeviceOffline", "RebootsSuppressed",
)  # fmt: skip
REBOOT_PREFERENCE = {0: "Normal", 1: "Suppress", 2: "Prompt", -1: "Force"}
OFFLINE_BEHAVIOR = {1: "Skip", 2: "ApplyOnConnect"}


UNKNOWN = "Unknown"  # a session whose status ImmyBot did not send: followed like any non-terminal status


def _enum(names: tuple[str, ...] | dict[int, str], *, missing: str | None = None) -> BeforeValidator:
    table = dict(enumerate(names)) if isinstance(names, tuple) else names

    def to_name(value: Any) -> Any:
        if value is None:
            return missing
        if isinstance(value, bool):
            return f"Unknown({value})"
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, int):
            return table.get(value, f"Unknown({value})")
        return value if isinstance(value, str) else f"Unknown({value!r})"

    return BeforeValidator(to_name)


SessionStatusName = Annotated[str, _enum(SESSION_STATUS, missing=UNKNOWN)]
ActionTypeName = Annotated[str | None, _enum(ACTION_TYPE)]
ActionResultName = Annotated[str | None, _enum(ACTION_RESULT)]
ActionStatusName = Annotated[str | None, _enum(ACTION_STATUS)]
MaintenanceTypeName = Annotated[str | None, _enum(MAINTENANCE_TYPE)]
DesiredStateName = Annotated[str | None, _enum(DESIRED_STATE)]
ActionReasonName = Annotated[str | None, _enum(ACTION_REASON)]
ActionResultReasonName = Annotated[str | None, _enum(ACTION_RESULT_REASON)]
Text = Annotated[str, BeforeValidator(lambda v: "" if v is None else v)]
T = TypeVar("T")
# `nullable` lists: ImmyBot sends null for a list it did not compute (maintenanceActions, sessions).
NullableList = Annotated[list[T], BeforeValidator(lambda v: [] if v is None else v)]

_ROW_CONFIG = ConfigDict(extra="ignore", populate_by_name=True)


def _shared(value: str | None) -> str | None:
    """One string object per distinct tenant name: 50,000 rows name a few hundred tenants."""
    return None if value is None else sys.intern(value)


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


# ---- software ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, config=_ROW_CONFIG)
class SoftwareItem:
    """One catalog item. Global and local ids are separate number spaces: the pair is the identity."""

    id: int
    name: Text
    catalog: Catalog

    @property
    def key(self) -> str:
        return software_key(self.catalog, self.id)

    def to_software(self) -> Software:
        return Software(id=self.id, name=self.name, catalog=self.catalog)


class CachedSoftware(NamedTuple):
    """A catalog search result: what the bot reads of a `SoftwareItem`."""

    id: int
    name: str
    catalog: Catalog

    @property
    def key(self) -> str:
        return software_key(self.catalog, self.id)

    def to_software(self) -> Software:
        return Software(id=self.id, name=self.name, catalog=self.catalog)


class SoftwarePayload(_Payload):
    """`GetGlobalSoftwareResponse` / `GetLocalSoftwareResponse`, the fields we keep (`id` is nullable:
    the client skips such a row)."""

    id: int
    name: Text = ""


# ---- computers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, config=_ROW_CONFIG)
class ComputerRow:
    """A computer from `/computers` (`name`/`online`/`tenant`) or dx/paged/by-id (`computerName`/…)."""

    id: int
    name: Annotated[Text, Field(validation_alias=AliasChoices("computerName", "name"))] = ""
    tenant_id: Annotated[int | None, Field(validation_alias=AliasChoices("tenantId", "tenant_id"))] = None
    tenant_name: Annotated[
        str | None,
        AfterValidator(_shared),
        Field(validation_alias=AliasChoices("tenantName", "tenant", "tenant_name")),
    ] = None
    online: Annotated[bool | None, Field(validation_alias=AliasChoices("isOnline", "online"))] = None
    primary_user_email: Annotated[
        str | None, Field(validation_alias=AliasChoices("primaryUserEmail", "primary_user_email"))
    ] = None
    primary_person_id: Annotated[
        int | None, Field(validation_alias=AliasChoices("primaryPersonId", "primary_person_id"))
    ] = None
    last_seen: Annotated[
        str | None, Field(validation_alias=AliasChoices("lastProviderAgentEventDateUtc", "updatedDate", "last_seen"))
    ] = None

    def to_computer(self) -> Computer:
        return Computer(id=self.id, name=self.name, tenant_id=self.tenant_id, tenant_name=self.tenant_name)


class CachedComputer(NamedTuple):
    """A catalog search result: what the bot reads of a `ComputerRow` (not `primary_person_id`, `last_seen`)."""

    id: int
    name: str
    tenant_id: int | None = None
    tenant_name: str | None = None
    online: bool | None = None
    primary_user_email: str | None = None

    def to_computer(self) -> Computer:
        return Computer(id=self.id, name=self.name, tenant_id=self.tenant_id, tenant_name=self.tenant_name)


AnyComputerRow = ComputerRow | CachedComputer


class Person(_Payload):
    id: int | None = None
    display_name: str | None = Field(default=None, validation_alias=AliasChoices("displayName", "fullName"))
    email: str | None = Field(default=None, validation_alias="emailAddress")
    first_name: str | None = Field(default=None, validation_alias="firstName")
    last_name: str | None = Field(default=None, validation_alias="lastName")


class Tenant(_Payload):
    id: int
    name: Text = ""
    active: bool | None = None


# ---- sessions and actions ---------------------------------------------------------------------


class MaintenanceAction(_Payload):
    """`GetMaintenanceActionResponse`, whitelisted: never parameters or logs. Nothing is required:
    an action without an id is still reported (it is only compared with `parentId`)."""

    id: int | None = None
    parent_id: int | None = Field(default=None, validation_alias="parentId")
    session_id: int | None = Field(default=None, validation_alias="maintenanceSessionId")
    computer_id: int | None = Field(default=None, validation_alias="computerId")
    computer_name: str | None = Field(default=None, validation_alias="computerName")
    display_name: str | None = Field(default=None, validation_alias="maintenanceDisplayName")
    maintenance_type: MaintenanceTypeName = Field(
        default=None, validation_alias=AliasChoices("maintenanceType", "maintenanceTypeName")
    )
    maintenance_identifier: str | None = Field(default=None, validation_alias="maintenanceIdentifier")
    action_type: ActionTypeName = Field(default=None, validation_alias=AliasChoices("actionType", "actionTypeName"))
    status: ActionStatusName = Field(default=None, validation_alias=AliasChoices("status", "statusName"))
    result: ActionResultName = Field(default=None, validation_alias=AliasChoices("result", "resultName"))
    desired_state: DesiredStateName = Field(default=None, validation_alias="desiredSoftwareState")
    detected_version: str | None = Field(default=None, validation_alias="detectedVersionString")
    desired_version: str | None = Field(default=None, validation_alias="desiredVersionString")
    result_reason_message: str | None = Field(default=None, validation_alias="resultReasonMessage")
    # what a detection-only (preview) action tells: see `bot.workflow.preview.ActionFacts`
    reason: ActionReasonName = Field(default=None, validation_alias="reason")
    result_reason: ActionResultReasonName = Field(default=None, validation_alias="resultReason")
    computer_online: bool | None = Field(default=None, validation_alias="isComputerOnline")


class MaintenanceSession(_Payload):
    """`GetMaintenanceSessionResponse` (by id) or a `/maintenance-sessions/dx` row, the fields we use."""

    id: int
    computer_id: int | None = Field(default=None, validation_alias="computerId")
    computer_name: str | None = Field(default=None, validation_alias="computerName")
    tenant_id: int | None = Field(default=None, validation_alias="tenantId")
    tenant_name: str | None = Field(default=None, validation_alias="tenantName")
    status: SessionStatusName = Field(default=UNKNOWN, validation_alias=AliasChoices("sessionStatus", "statusName"))
    created: str | None = Field(default=None, validation_alias=AliasChoices("createdDateUTC", "createdDate"))
    updated: str | None = Field(default=None, validation_alias=AliasChoices("updatedDateUTC", "updatedDate"))
    session_group_id: str | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("sessionJobArgs", "sessionGroupId"), "sessionGroupId")
    )
    actions: NullableList[MaintenanceAction] = Field(
        default_factory=list, validation_alias=AliasChoices("maintenanceActions", "actions")
    )


def _with_ids(value: Any) -> Any:
    """A computer's sessions without an id (not required by the schema) cannot be shown: left out."""
    if isinstance(value, list):
        return [row for row in value if not isinstance(row, dict) or row.get("id") is not None]
    return value


class ComputerDetail(_Payload):
    """`GET /api/v1/computers/{id}` (`GetComputerResponse`)."""

    id: int
    name: Text = Field(default="", validation_alias=AliasChoices("computerName", "name"))
    tenant_id: int | None = Field(default=None, validation_alias="tenantId")
    tenant_name: str | None = Field(default=None, validation_alias="tenantName")
    online: bool | None = Field(default=None, validation_alias=AliasChoices("isOnline", "online"))
    primary_person: Person | None = Field(default=None, validation_alias="primaryPerson")
    exclude_from_maintenance: bool | None = Field(default=None, validation_alias="excludeFromMaintenance")
    sessions: Annotated[NullableList[MaintenanceSession], BeforeValidator(_with_ids)] = Field(default_factory=list)

    @property
    def primary_user_email(self) -> str | None:
        return self.primary_person.email if self.primary_person else None

    def to_row(self) -> ComputerRow:
        return ComputerRow(
            id=self.id,
            name=self.name,
            tenant_id=self.tenant_id,
            tenant_name=self.tenant_name,
            online=self.online,
            primary_user_email=self.primary_user_email,
            primary_person_id=self.primary_person.id if self.primary_person else None,
        )


# ---- run-immy-service -------------------------------------------------------------------------


class StartedSession(_Payload):
    """`RunImmyServiceResponseSession`: `sessionId` is not required; the client skips a row without it."""

    session_id: int | None = Field(default=None, validation_alias=AliasChoices("sessionId", "session_id"))
    computer_id: int | None = Field(default=None, validation_alias=AliasChoices("computerId", "computer_id"))


class RunResult(_Payload):
    """`RunImmyServiceResponseBody`; both lists empty when ImmyBot sent no body (older builds)."""

    started: NullableList[StartedSession] = Field(
        default_factory=list, validation_alias=AliasChoices("sessionsStarted", "started")
    )
    already_in_progress: NullableList[StartedSession] = Field(
        default_factory=list, validation_alias=AliasChoices("sessionsAlreadyInProgress", "already_in_progress")
    )

    @property
    def session_ids(self) -> list[int]:
        return [s.session_id for s in (*self.started, *self.already_in_progress) if s.session_id is not None]

