"""The log of a fake maintenance session (`GET /maintenance-sessions/{id}/logs`), as ImmyBot writes it.

Lines are generic messages, commands with their script and parameters, command results with the
script's output, progress lines (no message) and an error line when the session failed. The install
command takes a secret parameter whose value is `SECRET_PARAMETER_VALUE`: it appears in
`scriptParameters`, `paramBlockParameters`, the `script` text, the script's output and, as ImmyBot's
command lines do, in one message. Tests grep for it to prove it never reaches Slack.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

SECRET_PARAMETER_VALUE = "FAKE-SECRET-LicenseKey-7f3c9a51e2"
# ImmyBot logs the script as run: parameter values inlined
_SCRIPT = f'$LicenseKey = "{SECRET_PARAMETER_VALUE}"\nStart-Process setup.exe -ArgumentList "/silent /key=$LicenseKey"'


def session_log_rows(
    *, session_id: int, action_id: int, created: datetime, display_name: str, status: str, terminal: bool,
    failed: bool, failure_message: str,
) -> list[dict[str, Any]]:  # fmt: skip
    """The session's log so far (camelCase rows, before shaping); a waiting session has only its first line."""
    parameters = {"LicenseKey": SECRET_PARAMETER_VALUE, "Channel": "stable"}

    def line(n: int, kind: str, message: str | None, **extra: Any) -> dict[str, Any]:
        at = (created + timedelta(seconds=3 * n)).isoformat()
        return {"id": session_id * 100 + n, "maintenanceSessionId": session_id, "maintenanceActionId": action_id,
                "time": at, "updatedTime": at, "sessionLogType": kind, "message": message, "isPrimary": n == 0,
                **extra}  # fmt: skip

    rows = [line(0, "Generic", f"Session {session_id} created by immybot-slack (API); status {status}")]
    if status in ("Created", "Pending", "PendingConnectivity"):
        return rows
    rows += [
        line(1, "Generic", f"Detecting {display_name}"),
        line(2, "Command", f"Running detection for {display_name}", script="Get-Package -Name $Name",
             scriptParameters={"Name": display_name}, scriptLanguage="PowerShell", scriptExecutionContext="System"),
        line(3, "CommandResult", "Detection finished", scriptOutput="Version 119.0.6045.105"),
        line(4, "Command", f"Installing {display_name}: setup.exe /silent /key={SECRET_PARAMETER_VALUE}",
             script=_SCRIPT, scriptParameters=parameters,
             paramBlockParameters=parameters, scriptLanguage="PowerShell", scriptExecutionContext="System",
             scriptTimeout=1800),
        line(5, "Progress", None, progressActivity="Installing", progressStatus="Running installer",
             progressPercentComplete=50.0, progressCorrelationId="3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
        line(6, "CommandResult", "Installer finished",
             scriptOutput=f"Using license {SECRET_PARAMETER_VALUE}\nExit code {1603 if failed else 0}"),
    ]  # fmt: skip
    if terminal:
        final = line(7, "Error", failure_message) if failed else line(7, "Generic", f"{display_name} is installed")
        rows.append(final)
    return rows
