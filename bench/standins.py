"""The loopback stand-ins of the production benches, in a process of their own:

- a quiet Bot Connector (tests.teams.connector, card validation off);
- an identity stand-in (tests.teams.identity_server) adding ``--delay`` seconds to every call,
  over plain HTTP (for Chaperone's URL settings) and over HTTPS with a test CA;
- an HTTPS CONNECT proxy that sends every tunnel to that HTTPS server, whose certificate (signed
  by the test CA) names login.botframework.com and login.microsoftonline.com: the stock bot,
  run with HTTPS_PROXY and REQUESTS_CA_BUNDLE, reaches "Microsoft" there, unmodified;
- GET /_stats on the identity server: the identity calls so far; POST /_hang?on=1 makes every
  identity call hang from then on, POST /_hang releases them.

    .venv/bin/python bench/standins.py WORKDIR [--delay 0.05]

WORKDIR holds channel.pem and tenant.pem (the signing keys, written by the caller, who mints the
tokens); ca.pem is written there. Prints one JSON line with the URLs, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.serve import serve
from tests.support.tls import make_ca
from tests.teams.connector import FakeConnector
from tests.teams.identity_server import IdentityServer

HOSTS = ["login.botframework.com", "login.microsoftonline.com", "localhost"]


class QuietConnector(FakeConnector):
    def _record(self, *a: Any) -> None:
        pass  # the tests validate every card; here it would only slow the fake down


def load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


async def connect_proxy(tls_port: int) -> tuple[asyncio.AbstractServer, int]:
    """CONNECT host:443 -> the local HTTPS identity server, whatever the host."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"CONNECT "):
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", tls_port)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def main(work: Path, delay: float) -> None:
    idp = IdentityServer(
        delay=delay, channel_key=load_key(work / "channel.pem"), tenant_key=load_key(work / "tenant.pem")
    )
    app = idp.app()

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(dict(idp.calls))

    async def hang(request: web.Request) -> web.Response:
        if request.query.get("on"):
            idp.hang = asyncio.Event()
        elif idp.hang is not None:
            idp.hang.set()
            idp.hang = None
        return web.json_response({"hanging": idp.hang is not None})

    app.router.add_get("/_stats", stats)
    app.router.add_post("/_hang", hang)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    plain = web.TCPSite(runner, "127.0.0.1", 0)
    await plain.start()
    tls = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=make_ca(work, hosts=HOSTS).server_context())
    await tls.start()
    port = plain._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    tls_port = tls._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    idp.url = f"http://127.0.0.1:{port}"
    _, proxy_port = await connect_proxy(tls_port)
    connector = QuietConnector()
    _, connector.url = await serve(connector.app())
    print(
        json.dumps(
            {
                "identity": idp.url,
                "botframework_openid": idp.botframework_openid_url,
                "proxy": f"http://127.0.0.1:{proxy_port}",
                "ca": str(work / "ca.pem"),
                "connector": connector.url,
            }
        ),
        flush=True,
    )
    await asyncio.Event().wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("work", type=Path)
    ap.add_argument("--delay", type=float, default=0.05)
    a = ap.parse_args()
    asyncio.run(main(a.work, a.delay))
