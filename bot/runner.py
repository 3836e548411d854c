"""`immybot-slack run`: load settings, pick the Slack mode, serve until stopped."""

from __future__ import annotations

from bot.config import load_settings


def run(socket: bool | None = None) -> int:
    settings = load_settings()
    use_socket = settings.socket_mode if socket is None else socket
    settings.require_mode(socket=use_socket)
    raise NotImplementedError("the Slack app wiring is not built yet")
