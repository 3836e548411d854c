"""The bot's HTTP server: an ASGI app on uvicorn, inside the running loop, on a bound socket.

`immybot-slack run`, tests and the demo serve the bot (and the sandbox its fakes) through `serve()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn


@dataclass(frozen=True)
class Served:
    host: str
    port: int
    scheme: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway server certificate and the CA that signed it (`ca_path` goes in REQUESTS_CA_BUNDLE)."""

    cert_path: Path
    key_path: Path
    ca_path: Path


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone (it runs beside others)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


# A request's line and headers may take at most this many bytes (Slack sends ~2 KB). uvicorn's own
# h11 parser is bounded (16 KB); with httptools, uvicorn and httptools buffer an unfinished header
# line without limit, so a client streaming one endless header would grow the process's memory.
MAX_HEAD_BYTES = 64 * 1024


def http_protocol() -> type[asyncio.Protocol] | str:
    """uvicorn's httptools protocol with the head bounded by `MAX_HEAD_BYTES`, or h11 without httptools."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "h11"

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        _in_head = True  # from the connection's first byte, and again from each request's first byte
        _head_bytes = 0

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head, self._head_bytes = True, 0

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def data_received(self, data: bytes) -> None:
            if self._in_head:
                end = data.find(b"\r\n\r\n")
                self._head_bytes += len(data) if end < 0 else end
                if self._head_bytes > MAX_HEAD_BYTES:
                    if not self.transport.is_closing():
                        self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                             b"content-length: 0\r\nconnection: close\r\n\r\n")
                        self.transport.close()
                    return
            super().data_received(data)

    return BoundedHttpToolsProtocol


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it every response (headers, then body) waits ~40 ms
    # on Nagle + the client's delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def serve(
    app: object,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: TlsFiles | None = None,
    log_level: str = "warning",
    limit_concurrency: int | None = None,
) -> AsyncIterator[Served]:
    """Run `app` with uvicorn until the block exits; yields where it listens.

    uvicorn parses HTTP with `httptools` when it is installed (a dependency), else in pure Python (h11).
    Past `limit_concurrency` open connections (or requests in flight) it answers 503 at once."""
    sock = bind_socket(host, port)
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        log_level=log_level,
        access_log=False,
        lifespan="off",
        ssl_certfile=str(tls.cert_path) if tls else None,
        ssl_keyfile=str(tls.key_path) if tls else None,
        timeout_graceful_shutdown=2,
        limit_concurrency=limit_concurrency,
        http=http_protocol(),
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield Served(host, sock.getsockname()[1], "https" if tls else "http")
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
