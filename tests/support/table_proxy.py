"""A loopback reverse proxy in front of Azurite's table service that can drop connections: a real
network fault for the table store (the request reaches the proxy, no answer comes back)."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from yarl import URL

from tests.support.serve import serve


class TableProxy:
    """Forwards every request to the account in ``connection_string`` unchanged (SharedKeyLite signs
    the path, not the host, so signatures stay valid). After ``drop_batches_after`` entity-group
    transactions (``$batch``) have passed, it closes the connection of each further one unanswered."""

    def __init__(self, connection_string: str) -> None:
        parts = dict(p.split("=", 1) for p in connection_string.strip(";").split(";"))
        self._upstream = parts["TableEndpoint"].rstrip("/")
        self._connection_string = connection_string
        self.batches = 0
        self.dropped = 0
        self.drop_batches_after: int | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        """Start; returns a connection string naming the proxy as the table endpoint."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._session = aiohttp.ClientSession(auto_decompress=False)
        self._runner, url = await serve(app)
        account = self._upstream.rsplit("/", 1)[1]
        return self._connection_string.replace(self._upstream, f"{url}/{account}")

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/$batch"):
            self.batches += 1
            if self.drop_batches_after is not None and self.batches > self.drop_batches_after:
                self.dropped += 1
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)  # never sent: the connection is gone
        assert self._session is not None
        upstream = self._upstream.rsplit("/", 1)[0] + request.raw_path
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(
            request.method, URL(upstream, encoded=True), headers=headers, data=await request.read()
        ) as r:
            body = await r.read()
            out = {k: v for k, v in r.headers.items() if k.lower() not in ("content-length", "transfer-encoding")}
            return web.Response(status=r.status, headers=out, body=body)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
