"""Serve a fake over real HTTP(S) on 127.0.0.1: the bot's own `serve()` plus a throwaway TLS certificate.

Every local fake (Slack, Entra, ImmyBot) and the bot itself in tests runs through `serve()`.
"""

from __future__ import annotations

from pathlib import Path

from bot.web_server import MAX_HEAD_BYTES, Served, TlsFiles, bind_socket, http_protocol, serve

__all__ = ["MAX_HEAD_BYTES", "Served", "TlsFiles", "bind_socket", "http_protocol", "make_tls", "serve"]


def make_tls(directory: Path, hostnames: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TlsFiles:
    """Mint a throwaway CA and a server certificate for `hostnames` into `directory`."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert(*hostnames)
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "server.pem", directory / "server.key", directory / "ca.pem")
    cert.private_key_pem.write_to_path(str(files.key_path))
    cert.cert_chain_pems[0].write_to_path(str(files.cert_path))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(files.cert_path), append=True)
    ca.cert_pem.write_to_path(str(files.ca_path))
    return files
