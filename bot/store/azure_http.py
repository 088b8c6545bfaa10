"""Azure Table storage's REST API on one pooled aiohttp session: what the table store calls on
every turn, without the SDK.

The azure-data-tables SDK spent most of a busy bot's event-loop time on itself (eleven nested
pipeline policies, generated serializers and a dozen coroutines per call) and its garbage made the
longest pauses of a burst of bookings (bench/production.py). The calls Chaperone makes are few and
documented (https://learn.microsoft.com/rest/api/storageservices/table-service-rest-api): read,
insert, replace (``If-Match``), upsert, delete, a filtered query with continuation, create table, and
the entity-group transaction (``$batch``). Requests are signed with the account key (SharedKeyLite:
Azurite and development) or carry a bearer token for https://storage.azure.com (a managed
identity in Azure), cached until five minutes before it expires.

The session never reads the environment per request (``trust_env`` off): the proxy standard
variables are resolved once, here, at start-up.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import ssl
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from azure.core.credentials_async import AsyncTokenCredential
from yarl import URL

#: Open connections to the table endpoint at most (aiohttp's default is 100 per session).
POOL_LIMIT = 100
API_VERSION = "2019-02-02"
STORAGE_SCOPE = "https://storage.azure.com/.default"
#: A call that has not answered in this long failed (the SDK's read timeout was longer, but a turn
#: that waits longer has lost the teacher anyway).
CALL_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
#: Statuses worth one more try (the service's own guidance), and the pauses before each retry.
TRANSIENT = frozenset({408, 429, 500, 502, 503, 504})
RETRY_PAUSES = (0.2, 0.8, 2.0)  # seconds; TableHttp.pauses
_TOKEN_MARGIN = 300.0  # a token is renewed this many seconds before it expires
_JSON = "application/json"
_METADATA = "application/json;odata=minimalmetadata"
_FAILED_PART = re.compile(r"^HTTP/1\.1 ([3-5]\d\d)", re.MULTILINE)  # a $batch answer's refused operation
_ERROR_CODE = re.compile(r'"code"\s*:\s*"([^"]+)"')


class TableError(Exception):
    """A table call the service refused (``status`` and its error code) or that got no answer
    (``status`` 0). Holds no entity content: codes and statuses only."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{code} (HTTP {status})" if status else code)
        self.status = status
        self.code = code


def env_proxy(endpoint: str) -> tuple[str | None, dict[str, str] | None]:
    """The proxy for ``endpoint`` as the environment sets it, read once at start-up:
    ``HTTPS_PROXY`` (or ``HTTP_PROXY`` for an ``http://`` endpoint such as Azurite) unless
    ``NO_PROXY`` names the endpoint's host. Proxy credentials go in the proxy URL
    (``http://user:pass@proxy:3128``) and are sent as a Proxy-Authorization header; ~/.netrc is
    not consulted. Returns the proxy URL without credentials, and the proxy headers."""
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


@dataclass(frozen=True)
class Account:
    """Where the tables are and, for key access, the account name and key."""

    endpoint: str  # e.g. https://acct.table.core.windows.net or http://127.0.0.1:10002/devstoreaccount1
    name: str = ""
    key: bytes = b""

    @classmethod
    def from_connection_string(cls, text: str) -> Account:
        """``AccountName=...;AccountKey=...;TableEndpoint=...`` (or ``DefaultEndpointsProtocol`` and
        ``EndpointSuffix`` instead of the endpoint). Raises ValueError naming what is missing, never the key."""
        parts = dict(p.split("=", 1) for p in text.strip().strip(";").split(";") if "=" in p)
        name, key = parts.get("AccountName", ""), parts.get("AccountKey", "")
        if not name or not key:
            raise ValueError("the connection string needs AccountName and AccountKey")
        endpoint = parts.get("TableEndpoint") or (
            f"{parts.get('DefaultEndpointsProtocol', 'https')}://{name}.table.{parts.get('EndpointSuffix', 'core.windows.net')}"
        )
        try:
            secret = base64.b64decode(key, validate=True)
        except ValueError:
            raise ValueError("the connection string's AccountKey is not base64") from None
        return cls(endpoint=endpoint.rstrip("/"), name=name, key=secret)


def key_literal(value: str) -> str:
    """A PartitionKey or RowKey as it goes in a URL path: quotes doubled, then percent-encoded."""
    return quote(value.replace("'", "''"), safe="")


def filter_literal(value: Any) -> str:
    """A value in an OData ``$filter``, typed as :func:`entity_properties` stores it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -(2**31) <= value < 2**31 else f"{value}L"
    if isinstance(value, float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def entity_properties(entity: Mapping[str, Any]) -> dict[str, Any]:
    """An entity as the service's JSON: strings and booleans as they are, 32-bit integers bare,
    larger ones and floats annotated with their Edm type."""
    body: dict[str, Any] = {}
    for name, value in entity.items():
        if isinstance(value, bool) or isinstance(value, str):
            body[name] = value
        elif isinstance(value, int):
            if -(2**31) <= value < 2**31:
                body[name] = value
            else:
                body[name], body[f"{name}@odata.type"] = str(value), "Edm.Int64"
        elif isinstance(value, float):
            body[name], body[f"{name}@odata.type"] = value, "Edm.Double"
        elif value is not None:
            raise TypeError(f"an entity property of type {type(value).__name__} is not supported ({name})")
    return body


class TableHttp:
    """One table endpoint: signed requests on one pooled, keep-alive aiohttp session (opened on
    first use, inside the event loop; closed with :meth:`close`)."""

    def __init__(
        self,
        account: Account,
        *,
        credential: AsyncTokenCredential | None = None,
        verify: str | bool = True,
    ) -> None:
        if credential is None and not account.key:
            raise ValueError("a table endpoint needs an account key or a token credential")
        self.account = account
        self._credential = credential
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None
        self._proxy, self._proxy_headers = env_proxy(account.endpoint)
        self._token: tuple[str, float] | None = None  # (token, renew after: monotonic seconds)
        self._token_lock = asyncio.Lock()
        self._closed = False
        self.pauses: tuple[float, ...] = RETRY_PAUSES

    # --- the session and signing --------------------------------------------------------
    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise TableError(0, "StoreClosed")
        if self._session is None:
            tls: ssl.SSLContext | bool = True
            if isinstance(self._verify, str):
                tls = ssl.create_default_context(cafile=self._verify)
            elif self._verify is False:
                tls = False
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=POOL_LIMIT, keepalive_timeout=30, ssl=tls),
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=CALL_TIMEOUT,
            )
        return self._session

    async def _bearer(self) -> str:
        """The cached token for Azure Storage, renewed (once, whoever asks) five minutes before it expires."""
        assert self._credential is not None
        cached = self._token
        if cached is not None and time.monotonic() < cached[1]:
            return cached[0]
        async with self._token_lock:
            cached = self._token
            if cached is None or time.monotonic() >= cached[1]:
                got = await self._credential.get_token(STORAGE_SCOPE)
                ttl = got.expires_on - time.time()
                self._token = cached = (got.token, time.monotonic() + max(ttl - _TOKEN_MARGIN, 0.0))
            return cached[0]

    async def _headers(self, url: URL) -> dict[str, str]:
        date = formatdate(usegmt=True)
        headers = {"x-ms-date": date, "x-ms-version": API_VERSION, "DataServiceVersion": "3.0"}
        if self._credential is not None:
            headers["Authorization"] = f"Bearer {await self._bearer()}"
        else:  # SharedKeyLite: the date and the canonical resource, signed with the account key
            resource = f"/{self.account.name}{url.raw_path}"  # no call here names a ?comp= resource
            digest = hmac.new(self.account.key, f"{date}\n{resource}".encode(), hashlib.sha256).digest()
            headers["Authorization"] = f"SharedKeyLite {self.account.name}:{base64.b64encode(digest).decode()}"
        return headers

    def url(self, path: str, query: Mapping[str, str] | None = None) -> URL:
        """``path`` (already encoded) under the endpoint, with ``query``."""
        url = URL(f"{self.account.endpoint}/{path}", encoded=True)
        return url.with_query(query) if query else url

    async def call(
        self,
        method: str,
        url: URL,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One request, retried on a transient status or a dropped connection. Returns the final
        status, headers and body; raises :class:`TableError` with status 0 when nothing answered."""
        session = self._open()
        for pause in (*self.pauses, None):
            try:
                sent = {**(await self._headers(url)), **(headers or {})}
            except Exception as exc:  # the token credential failed (it retries on its own)
                raise TableError(0, f"token: {type(exc).__name__}") from exc
            try:
                async with session.request(
                    method, url, data=body, headers=sent, proxy=self._proxy, proxy_headers=self._proxy_headers
                ) as r:
                    data = await r.read()
                    if r.status not in TRANSIENT or pause is None:
                        return r.status, r.headers, data
            except (aiohttp.ClientError, TimeoutError) as exc:
                if pause is None:
                    raise TableError(0, type(exc).__name__) from exc
            await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def refused(status: int, data: bytes) -> TableError:
        try:
            code = str(json.loads(data)["odata.error"]["code"])
        except (ValueError, KeyError, TypeError):
            code = "Error"
        return TableError(status, code)

    # --- tables and entities ------------------------------------------------------------
    def entity_url(self, table: str, partition: str, row: str) -> URL:
        return self.url(f"{table}(PartitionKey='{key_literal(partition)}',RowKey='{key_literal(row)}')")

    async def create_table(self, table: str) -> None:
        """Create ``table`` unless it exists."""
        status, _, data = await self.call(
            "POST",
            self.url("Tables"),
            body=json.dumps({"TableName": table}).encode(),
            headers={"Content-Type": _JSON, "Accept": _JSON, "Prefer": "return-no-content"},
        )
        if status not in (201, 204, 409):
            raise self.refused(status, data)

    async def get(self, table: str, partition: str, row: str) -> dict[str, Any] | None:
        """The entity (with ``odata.etag``), or None."""
        status, headers, data = await self.call(
            "GET", self.entity_url(table, partition, row), headers={"Accept": _METADATA}
        )
        if status == 404:
            return None
        if status != 200:
            raise self.refused(status, data)
        entity: dict[str, Any] = json.loads(data)
        entity.setdefault("odata.etag", headers.get("ETag", ""))
        return entity

    async def _write(self, method: str, url: URL, entity: Mapping[str, Any], **headers: str) -> str:
        status, got, data = await self.call(
            method,
            url,
            body=json.dumps(entity_properties(entity), separators=(",", ":")).encode(),
            headers={"Content-Type": _JSON, "Accept": _JSON, **headers},
        )
        if status not in (201, 204):
            raise self.refused(status, data)
        return got.get("ETag", "")

    async def insert(self, table: str, entity: Mapping[str, Any]) -> str:
        """Add ``entity``; its new ETag. 409 (EntityAlreadyExists) if the key is taken."""
        return await self._write("POST", self.url(table), entity, Prefer="return-no-content")

    async def replace(self, table: str, entity: Mapping[str, Any], etag: str) -> str:
        """Replace the entity if it still has ``etag``; its new ETag (412 if it changed, 404 if gone)."""
        url = self.entity_url(table, entity["PartitionKey"], entity["RowKey"])
        return await self._write("PUT", url, entity, **{"If-Match": etag})

    async def upsert(self, table: str, entity: Mapping[str, Any]) -> str:
        """Insert or replace the entity, whatever it held; its new ETag."""
        return await self._write("PUT", self.entity_url(table, entity["PartitionKey"], entity["RowKey"]), entity)

    async def delete(self, table: str, partition: str, row: str) -> None:
        """Delete the entity if it exists."""
        status, _, data = await self.call("DELETE", self.entity_url(table, partition, row), headers={"If-Match": "*"})
        if status not in (204, 404):
            raise self.refused(status, data)

    async def query(self, table: str, where: str, *, select: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Every entity matching the OData filter ``where``, following continuation tokens."""
        params = {"$filter": where}
        if select:
            params["$select"] = ",".join(select)
        found: list[dict[str, Any]] = []
        while True:
            status, headers, data = await self.call(
                "GET", self.url(f"{table}()", params), headers={"Accept": _METADATA}
            )
            if status != 200:
                raise self.refused(status, data)
            found.extend(json.loads(data).get("value") or [])
            pk, rk = headers.get("x-ms-continuation-NextPartitionKey"), headers.get("x-ms-continuation-NextRowKey")
            if not pk:
                return found
            params = {k: v for k, v in params.items() if k.startswith("$")} | {"NextPartitionKey": pk}
            if rk:
                params["NextRowKey"] = rk

    async def transact(self, table: str, ops: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """One entity-group transaction (all in one partition, at most 100): ``("upsert", entity)``
        or ``("delete", {"PartitionKey", "RowKey"})``. All or none; the first refused operation's
        status and code when refused."""
        batch, changeset = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
        lines = [f"--{batch}", f"Content-Type: multipart/mixed; boundary={changeset}", ""]
        for op, entity in ops:
            target = self.entity_url(table, entity["PartitionKey"], entity["RowKey"])
            lines += [f"--{changeset}", "Content-Type: application/http", "Content-Transfer-Encoding: binary", ""]
            if op == "delete":
                lines += [f"DELETE {target} HTTP/1.1", "Accept: application/json", "If-Match: *", "", ""]
            else:
                payload = json.dumps(entity_properties(entity), separators=(",", ":"))
                lines += [
                    f"PUT {target} HTTP/1.1",
                    "Content-Type: application/json",
                    "Accept: application/json",
                    "Prefer: return-no-content",
                    "DataServiceVersion: 3.0",
                    "",
                    payload,
                ]
        lines += [f"--{changeset}--", f"--{batch}--", ""]
        status, _, data = await self.call(
            "POST",
            self.url("$batch"),
            body="\r\n".join(lines).encode(),
            headers={"Content-Type": f"multipart/mixed; boundary={batch}", "Accept": _JSON},
        )
        if status != 202:
            raise self.refused(status, data)
        answer = data.decode("utf-8", "replace")
        failed = _FAILED_PART.search(answer)
        if failed is not None:
            code = _ERROR_CODE.search(answer, failed.end())
            raise TableError(int(failed.group(1)), code.group(1) if code else "Error")

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None
