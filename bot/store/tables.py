"""AzureTableStore: the Store on Azure Table Storage (or Cosmos DB's Table API), for several instances.

Each logical table is one Azure table (``chaperone<name>``); a record is one entity in partition
``c`` whose ``doc`` property holds the document as JSON (Azure limits a property to 64 KiB and an
entity to 1 MiB; Chaperone's largest documents, concerns, stay well under that). Top-level scalar
fields are copied into ``f_<name>`` properties so ``where`` and ``days`` filter on the server.
Optimistic concurrency uses the entity ETag: a replace with a stale ETag is refused by the service
(HTTP 412) and becomes :class:`bot.errors.Conflict`, so two bot instances can never both accept
the same second-adult request.

In Azure the store reaches the account with a token (the App Service's user-assigned managed
identity holding Storage Table Data Contributor), never a key: :meth:`AzureTableStore.with_identity`.
A connection string stays for Azurite and development.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import quote, unquote

from azure.core import MatchConditions
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from bot.errors import Conflict, NotFound, StoreError
from bot.store.base import Record

PARTITION = "c"
_MAX_INDEXED = 1024  # longer strings are not copied into filterable properties


def _row(key: str) -> str:
    return quote(key, safe="")  # RowKey may not contain / \\ # ? or control characters


def _entity(key: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": PARTITION, "RowKey": _row(key), "doc": json.dumps(doc, ensure_ascii=False, separators=(",", ":"))}
    for name, value in doc.items():
        if isinstance(value, bool) or isinstance(value, (int, float)) or (isinstance(value, str) and len(value) <= _MAX_INDEXED):
            if name.isidentifier():
                entity[f"f_{name}"] = value
    return entity


def _record(entity: Mapping[str, Any]) -> Record:
    etag = entity.metadata["etag"] if hasattr(entity, "metadata") else entity["etag"]  # type: ignore[union-attr]
    return Record(key=unquote(entity["RowKey"]), doc=json.loads(entity["doc"]), etag=str(etag))


def identity_credential(client_id: str = "") -> AsyncTokenCredential:
    """The managed identity with this client id (a user-assigned identity, as the deployment
    template makes), or without one DefaultAzureCredential (a developer's `az login`, ...)."""
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()


class AzureTableStore:
    def __init__(self, connection_string: str = "", *, prefix: str = "chaperone", service: TableServiceClient | None = None,
                 credential: AsyncTokenCredential | None = None) -> None:
        if service is None and not connection_string:
            raise StoreError("Azure Table Storage needs an endpoint and identity, or a connection string.")
        self._service = service or TableServiceClient.from_connection_string(connection_string)
        self._credential = credential  # owned: closed with the store
        self._prefix = prefix
        self._clients: dict[str, TableClient] = {}

    @classmethod
    def with_identity(cls, endpoint: str, credential: AsyncTokenCredential | None = None, *, client_id: str = "", prefix: str = "chaperone", **options: Any) -> "AzureTableStore":
        """The store at ``endpoint`` (``https://<account>.table.core.windows.net``) reached with a
        token credential: ``credential``, else :func:`identity_credential` (``client_id``). No key:
        the account may have shared-key access switched off. ``options`` go to the SDK client
        (e.g. ``connection_verify`` with a CA bundle)."""
        if not endpoint.startswith("https://"):
            raise StoreError("CHAPERONE_TABLES_ENDPOINT must be an https:// address (tokens are never sent in clear).")
        credential = credential or identity_credential(client_id)
        return cls(prefix=prefix, service=TableServiceClient(endpoint, credential=credential, **options), credential=credential)

    async def _table(self, name: str) -> TableClient:
        client = self._clients.get(name)
        if client is None:
            table_name = f"{self._prefix}{name}".replace("_", "")
            try:
                await self._service.create_table_if_not_exists(table_name)
            except AzureError as exc:
                raise StoreError(f"Azure Table Storage is unavailable ({type(exc).__name__}).") from exc
            client = self._clients[name] = self._service.get_table_client(table_name)
        return client

    async def get(self, table: str, key: str) -> Record | None:
        client = await self._table(table)
        try:
            return _record(await client.get_entity(PARTITION, _row(key)))
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StoreError(f"Azure Table Storage did not answer ({type(exc).__name__}).") from exc

    async def insert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        client = await self._table(table)
        try:
            meta = await client.create_entity(_entity(key, doc))
        except ResourceExistsError as exc:
            raise Conflict(f"A record {key} already exists.") from exc
        except AzureError as exc:
            raise StoreError(f"Azure Table Storage did not accept the write ({type(exc).__name__}).") from exc
        return Record(key=key, doc=dict(doc), etag=str(meta["etag"]))

    async def replace(self, table: str, key: str, doc: dict[str, Any], *, etag: str) -> Record:
        client = await self._table(table)
        try:
            meta = await client.update_entity(_entity(key, doc), mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError as exc:
            raise Conflict(f"Record {key} was changed by someone else.") from exc
        except ResourceNotFoundError as exc:
            raise NotFound(f"No record {key}.") from exc
        except AzureError as exc:
            raise StoreError(f"Azure Table Storage did not accept the write ({type(exc).__name__}).") from exc
        return Record(key=key, doc=dict(doc), etag=str(meta["etag"]))

    async def upsert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        client = await self._table(table)
        try:
            meta = await client.upsert_entity(_entity(key, doc), mode=UpdateMode.REPLACE)
        except AzureError as exc:
            raise StoreError(f"Azure Table Storage did not accept the write ({type(exc).__name__}).") from exc
        return Record(key=key, doc=dict(doc), etag=str(meta["etag"]))

    async def delete(self, table: str, key: str) -> None:
        client = await self._table(table)
        try:
            await client.delete_entity(PARTITION, _row(key))
        except ResourceNotFoundError:
            return
        except AzureError as exc:
            raise StoreError(f"Azure Table Storage did not accept the delete ({type(exc).__name__}).") from exc

    async def query(self, table: str, where: Mapping[str, Any] | None = None, *, days: tuple[str, str] | None = None) -> list[Record]:
        client = await self._table(table)
        clauses, params = [f"PartitionKey eq @pk"], {"pk": PARTITION}
        for i, (name, value) in enumerate((where or {}).items()):
            clauses.append(f"f_{name} eq @w{i}")
            params[f"w{i}"] = value
        if days:
            clauses.append("f_day ge @d0 and f_day le @d1")
            params.update({"d0": days[0], "d1": days[1]})
        try:
            found = [_record(e) async for e in client.query_entities(" and ".join(clauses), parameters=params)]
        except AzureError as exc:
            raise StoreError(f"Azure Table Storage did not answer ({type(exc).__name__}).") from exc
        return sorted(found, key=lambda r: r.key)

    async def append(self, table: str, doc: dict[str, Any]) -> str:
        key = f"{datetime.now(timezone.utc):%Y%m%d%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        await self.insert(table, key, doc)
        return key

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        await self._service.close()
        close = getattr(self._credential, "close", None)
        if close is not None:
            await close()
