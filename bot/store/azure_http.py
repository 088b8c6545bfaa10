"""The Azure Table SDK's HTTP transport on one pooled aiohttp session that never reads the environment per request."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from azure.core.pipeline.transport import AioHttpTransport
from yarl import URL

#: Open connections to the table endpoint at most (aiohttp's default is 100 per session).
POOL_LIMIT = 100


def env_proxy(endpoint: str) -> tuple[str | None, dict[str, str] | None]:
    """The proxy for ``endpoint`` as the environment sets it, read once at start-up.

    The SDK's own transport makes its aiohttp session with ``trust_env=True``, which reads
    ~/.netrc and the proxy variables in a worker thread on *every* request (two thread hops per
    store call). We resolve the same standard variables once instead: ``HTTPS_PROXY`` (or
    ``HTTP_PROXY`` for an ``http://`` endpoint such as Azurite) unless ``NO_PROXY`` names the
    endpoint's host. Proxy credentials go in the proxy URL (``http://user:pass@proxy:3128``) and
    are sent as a Proxy-Authorization header; unlike before, ~/.netrc is not consulted for them.
    Returns the proxy URL without credentials, and the proxy headers.
    """
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    proxy = getproxies().get(parts.scheme)
    if not host or not proxy or proxy_bypass(host):
        return None, None
    url = URL(proxy)
    headers = None
    if url.user:
        token = base64.b64encode(f"{url.user}:{url.password or ''}".encode()).decode("ascii")
        headers = {"Proxy-Authorization": f"Basic {token}"}
    return str(url.with_user(None).with_password(None)), headers


class PooledTransport(AioHttpTransport):  # type: ignore[misc]
    """AioHttpTransport whose session (opened on first use, in the event loop) is ours: one per
    service client, shared by its table clients, ``trust_env=False`` with the proxy resolved once,
    a pooled keep-alive connector; closed with the service client."""

    session: aiohttp.ClientSession | None

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._proxy: str | None = None
        self._proxy_headers: dict[str, str] | None = None
        self._closed = False

    def route(self, endpoint: str) -> None:
        """Resolve the proxy for the client's endpoint (once, before the first request)."""
        self._proxy, self._proxy_headers = env_proxy(endpoint)

    async def open(self) -> None:
        if self.session is None and not self._closed:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=POOL_LIMIT, keepalive_timeout=30),
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                proxy=self._proxy,
            )
        await super().open()

    async def send(self, request: Any, **config: Any) -> Any:
        if self._proxy_headers:
            config.setdefault("proxy_headers", self._proxy_headers)
        return await super().send(request, **config)

    async def close(self) -> None:
        self._closed = True
        await super().close()
