"""Socket Mode on the fake Slack: `apps.connections.open` hands out a `ws://…/link?ticket=…` URL, the
endpoint says `hello`, the driver pushes envelopes and awaits the app's ack (`{"envelope_id", "payload"}`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import uuid
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect


class SocketHub:
    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.tickets: set[str] = set()
        self.connections: list[WebSocket] = []
        self.sent: list[dict[str, Any]] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.connects = 0

    def mint_url(self, http_url: str) -> str:
        ticket = secrets.token_hex(8)
        self.tickets.add(ticket)
        return http_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + f"/link?ticket={ticket}"

    async def endpoint(self, websocket: WebSocket) -> None:
        if websocket.query_params.get("ticket") not in self.tickets:
            await websocket.close(code=1008)  # policy violation: only URLs from apps.connections.open
            return
        await websocket.accept()
        self.connections.append(websocket)
        self.connects += 1
        hello = {
            "type": "hello",
            "num_connections": len(self.connections),
            "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
            "connection_info": {"app_id": self.app_id},
        }
        try:
            await websocket.send_text(json.dumps(hello))
            while True:
                frame = json.loads(await websocket.receive_text())
                if isinstance(frame, dict) and frame.get("envelope_id"):
                    self.acks[frame["envelope_id"]] = frame.get("payload") or {}
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if websocket in self.connections:
                self.connections.remove(websocket)

    async def wait_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not self.connections:
            if time.monotonic() > deadline:
                raise TimeoutError("no Socket Mode connection to the fake Slack")
            await asyncio.sleep(0.01)

    async def send(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """Push one envelope (`slash_commands`, `interactive`, `events_api`) to the app; returns its id."""
        await self.wait_connected()
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "type": kind,
            "accepts_response_payload": kind != "events_api",
            "payload": payload,
        }
        if kind == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        self.sent.append(envelope)
        await self.connections[0].send_text(json.dumps(envelope))
        return envelope["envelope_id"]

    async def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The ack's payload (`{}` when the app acked with nothing); TimeoutError if it never acked."""
        deadline = time.monotonic() + timeout
        while envelope_id not in self.acks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not ack envelope {envelope_id} within {timeout} s")
            await asyncio.sleep(0.005)
        return self.acks[envelope_id]

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every client to reconnect, as Slack does periodically."""
        for ws in list(self.connections):
            with contextlib.suppress(Exception):
                await ws.send_text(json.dumps({"type": "disconnect", "reason": reason}))

    async def close_all(self) -> None:
        for ws in list(self.connections):
            with contextlib.suppress(Exception):
                await ws.close(code=1001)
        self.connections.clear()
