"""A loopback Microsoft Entra token endpoint over HTTPS (with a throw-away test CA) for credential tests.

    entra = FakeEntra(answer="invalid_client")
    authority = await entra.start(tmp_path)   # https://127.0.0.1:PORT, trusted through entra.ca_path
    ...
    await entra.stop()

``answer``: "invalid_client" (a wrong client secret: AADSTS7000215), "expired_certificate"
(AADSTS700027) or "token" (a valid-looking access token). Every request is recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.support.tls import make_ca

ERRORS = {
    "invalid_client": (
        401,
        7000215,
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
    ),
    "expired_certificate": (
        401,
        700027,
        "AADSTS700027: The certificate with identifier used to sign the client assertion is expired on application.",
    ),
}


@dataclass
class FakeEntra:
    answer: str = "invalid_client"
    requests: list[str] = field(default_factory=list)
    ca_path: Path | None = None
    _runner: web.AppRunner | None = None

    async def start(self, directory: Path) -> str:
        ca = make_ca(directory)
        self.ca_path, context = ca.ca, ca.server_context()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        return f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.requests.append(f"{request.method} {request.path}")
        if not request.path.endswith("/oauth2/v2.0/token"):
            return web.json_response(
                {
                    "error": "invalid_request",
                    "error_description": "AADSTS900561: The endpoint only accepts POST requests.",
                },
                status=400,
            )
        if self.answer == "token":
            return web.json_response(
                {
                    "token_type": "Bearer",
                    "expires_in": 3599,
                    "ext_expires_in": 3599,
                    "access_token": "test-token-not-a-secret",
                }
            )
        status, code, text = ERRORS[self.answer]
        return web.json_response(
            {
                "error": "invalid_client",
                "error_description": text,
                "error_codes": [code],
                "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": "00000000-0000-0000-0000-000000000000",
                "correlation_id": "00000000-0000-0000-0000-000000000001",
            },
            status=status,
        )
