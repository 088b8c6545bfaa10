"""AzureTableStore: the Store on Azure Table Storage (or Cosmos DB's Table API), for several instances.

Each logical table is one Azure table (``chaperone<name>``); a record is one entity in partition
``c`` whose ``doc`` property holds the document as JSON. Azure limits a string property to 64 KiB
(32,000 UTF-16 units) and an entity to 1 MiB, so a long document is spread over ``doc``, ``doc1``,
``doc2``... of at most 16,000 characters each (64,000 bytes even if every character needs two
UTF-16 units), up to :data:`bot.store.base.MAX_DOC_CHARS`; a larger one is refused before any
write. Top-level scalar fields are copied into ``f_<name>`` properties so ``where`` and ``days``
filter on the server. Optimistic concurrency uses the entity ETag: a replace with a stale ETag is
refused by the service (HTTP 412) and becomes :class:`bot.errors.Conflict`, so two bot instances
can never both accept the same second-adult request.

Batch writes (``upsert_many``, the consent import) must be all or none, but an entity-group
transaction holds at most 100 operations. So a *generational* table (``consents``) keeps its rows
in a partition named by a pointer entity (``meta``/``current``): an import copies the current rows
and the new ones into a fresh partition ``g<generation>-<id>`` (in transactions of up to 100), then
flips the pointer with one ETag-checked replace, the commit point. Readers read the pointer first,
so they see the old generation or the new one whole; a crash before the flip leaves an orphan
partition nobody reads. Partitions older than the previous generation are deleted by the next
import (the previous one is kept for readers that read the pointer just before the flip).

In Azure the store reaches the account with a token (the App Service's user-assigned managed
identity holding Storage Table Data Contributor), never a key: :meth:`AzureTableStore.with_identity`.
A connection string stays for Azurite and development.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from azure.core.credentials_async import AsyncTokenCredential

from bot import texts
from bot.errors import Conflict, NotFound, StoreError
from bot.store.azure_http import Account, TableError, TableHttp, filter_literal
from bot.store.base import Record, check_size
from bot.texts import store as store_texts

PARTITION = "c"
META, POINTER = "meta", "current"
GENERATIONAL = ("consents",)
_MAX_INDEXED = 1024  # longer strings are not copied into filterable properties
_PART_CHARS = 16_000  # characters of JSON per doc property (<= 64,000 bytes in UTF-16)
_TX_OPS, _TX_CHARS = 100, 2_000_000  # an entity-group transaction: at most 100 operations and 4 MiB


def _row(key: str) -> str:
    return quote(key, safe="")  # RowKey may not contain / \\ # ? or control characters


def _entity(key: str, doc: Mapping[str, Any], partition: str = PARTITION) -> dict[str, Any]:
    text = check_size(key, doc)
    entity: dict[str, Any] = {"PartitionKey": partition, "RowKey": _row(key)}
    for i in range(0, max(len(text), 1), _PART_CHARS):
        entity["doc" if i == 0 else f"doc{i // _PART_CHARS}"] = text[i : i + _PART_CHARS]
    for name, value in doc.items():
        if (
            isinstance(value, bool)
            or isinstance(value, (int, float))
            or (isinstance(value, str) and len(value) <= _MAX_INDEXED)
        ):
            if name.isidentifier():
                entity[f"f_{name}"] = value
    return entity


def _doc_text(entity: Mapping[str, Any]) -> str:
    parts, i = [str(entity["doc"])], 1
    while f"doc{i}" in entity:
        parts.append(str(entity[f"doc{i}"]))
        i += 1
    return "".join(parts)


def _record(entity: Mapping[str, Any]) -> Record:
    return Record(key=unquote(entity["RowKey"]), doc=json.loads(_doc_text(entity)), etag=str(entity["odata.etag"]))


def _generation(partition: str) -> int:
    """g00000003-ab12cd34 -> 3; the original partition ``c`` is generation 0."""
    try:
        return int(partition[1:].split("-", 1)[0]) if partition.startswith("g") else 0
    except ValueError:
        return 0


def _write_failed(exc: TableError) -> StoreError:
    return StoreError(texts.STORE_WRITE_FAILED.format(error=store_texts.azure(str(exc))), hint=texts.STORE_FAILED_HINT)


def identity_credential(client_id: str = "") -> AsyncTokenCredential:
    """The managed identity with this client id (a user-assigned identity, as the deployment
    template makes), or without one DefaultAzureCredential (a developer's `az login`, ...)."""
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()


class AzureTableStore:
    def __init__(
        self,
        connection_string: str = "",
        *,
        prefix: str = "chaperone",
        generational: tuple[str, ...] = GENERATIONAL,
        http: TableHttp | None = None,
        credential: AsyncTokenCredential | None = None,
    ) -> None:
        if http is None:
            if not connection_string:
                raise StoreError(store_texts.TABLES_UNCONFIGURED)
            try:
                http = TableHttp(Account.from_connection_string(connection_string))
            except ValueError as exc:
                raise StoreError(store_texts.tables_connection_string(str(exc))) from None
        self._http = http
        self._credential = credential  # owned: closed with the store
        self._prefix = prefix
        self._tables: dict[str, str] = {}
        self._generational = frozenset(generational)

    @classmethod
    def with_identity(
        cls,
        endpoint: str,
        credential: AsyncTokenCredential | None = None,
        *,
        client_id: str = "",
        prefix: str = "chaperone",
        connection_verify: str | bool = True,
    ) -> AzureTableStore:
        """The store at ``endpoint`` (``https://<account>.table.core.windows.net``) reached with a
        token credential: ``credential``, else :func:`identity_credential` (``client_id``). No key:
        the account may have shared-key access switched off. ``connection_verify``: a CA bundle
        to trust instead of the system's (tests)."""
        if not endpoint.startswith("https://"):
            raise StoreError(store_texts.TABLES_NOT_HTTPS)
        credential = credential or identity_credential(client_id)
        http = TableHttp(Account(endpoint.rstrip("/")), credential=credential, verify=connection_verify)
        return cls(prefix=prefix, http=http, credential=credential)

    async def _table(self, name: str) -> str:
        """The Azure table holding ``name`` (created on first use)."""
        table = self._tables.get(name)
        if table is None:
            table = f"{self._prefix}{name}".replace("_", "")
            try:
                await self._http.create_table(table)
            except TableError as exc:
                raise StoreError(store_texts.tables_unavailable(str(exc))) from exc
            self._tables[name] = table
        return table

    async def _pointer(self, table: str) -> dict[str, Any] | None:
        try:
            return await self._http.get(table, META, POINTER)
        except TableError as exc:
            raise StoreError(store_texts.tables_no_answer(str(exc))) from exc

    async def _partition(self, name: str) -> str:
        """The partition holding the table's records now (generational tables: the pointer's)."""
        if name not in self._generational:
            return PARTITION
        pointer = await self._pointer(await self._table(name))
        return str(pointer["part"]) if pointer else PARTITION

    async def _locate(self, name: str) -> tuple[str, str]:
        """The Azure table and the partition of ``name``'s records."""
        return await self._table(name), await self._partition(name)

    async def _moved(self, name: str, part: str) -> bool:
        """After a single write to a generational table: did an import flip the pointer meanwhile?"""
        return name in self._generational and await self._partition(name) != part

    async def get(self, table: str, key: str) -> Record | None:
        table, part = await self._locate(table)
        try:
            entity = await self._http.get(table, part, _row(key))
        except TableError as exc:
            raise StoreError(store_texts.tables_no_answer(str(exc))) from exc
        return _record(entity) if entity is not None else None

    async def insert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        name = table
        table, part = await self._locate(name)
        try:
            etag = await self._http.insert(table, _entity(key, doc, part))
        except TableError as exc:
            if exc.status == 409:
                raise Conflict(store_texts.record_exists(key)) from exc
            raise _write_failed(exc) from exc
        if await self._moved(name, part):
            raise Conflict(texts.STORE_REIMPORTED)
        return Record(key=key, doc=dict(doc), etag=etag)

    async def replace(self, table: str, key: str, doc: dict[str, Any], *, etag: str) -> Record:
        name = table
        table, part = await self._locate(name)
        try:
            new = await self._http.replace(table, _entity(key, doc, part), etag)
        except TableError as exc:
            if exc.status == 412:
                raise Conflict(store_texts.record_changed(key)) from exc
            if exc.status == 404:
                raise NotFound(store_texts.no_record(key)) from exc
            raise _write_failed(exc) from exc
        if await self._moved(name, part):
            raise Conflict(texts.STORE_REIMPORTED)
        return Record(key=key, doc=dict(doc), etag=new)

    async def upsert(self, table: str, key: str, doc: dict[str, Any]) -> Record:
        name, table = table, await self._table(table)
        for _ in range(5):
            part = await self._partition(name)
            try:
                etag = await self._http.upsert(table, _entity(key, doc, part))
            except TableError as exc:
                raise _write_failed(exc) from exc
            if not await self._moved(name, part):
                return Record(key=key, doc=dict(doc), etag=etag)
        raise Conflict(texts.STORE_REIMPORTED)

    async def upsert_many(self, table: str, docs: Mapping[str, dict[str, Any]]) -> int:
        """Write a new generation (current rows + ``docs``) and flip the pointer to it: all or none."""
        if table not in self._generational:
            raise ValueError(
                f"upsert_many needs a generational table ({', '.join(sorted(self._generational))}), not {table}"
            )
        if not docs:
            return 0
        table = await self._table(table)
        for _ in range(3):
            pointer = await self._pointer(table)
            old = str(pointer["part"]) if pointer else PARTITION
            gen = _generation(old) + 1
            new = f"g{gen:08d}-{uuid.uuid4().hex[:8]}"
            try:
                rows: dict[str, dict[str, Any]] = {}
                for e in await self._http.query(table, f"PartitionKey eq {filter_literal(old)}"):
                    rows[e["RowKey"]] = _entity(unquote(e["RowKey"]), json.loads(_doc_text(e)), new)
                for key, doc in docs.items():
                    rows[_row(key)] = _entity(key, doc, new)
                await self._transact(table, [("upsert", row) for row in rows.values()])
                flip = {"PartitionKey": META, "RowKey": POINTER, "part": new, "gen": gen}
                if pointer is None:
                    await self._http.insert(table, flip)
                else:
                    await self._http.replace(table, flip, str(pointer["odata.etag"]))
            except TableError as exc:
                # another import won (409/412: ours is an orphan), or the service failed
                await self._drop_partitions(table, lambda p: p == new)  # noqa: B023 - called within this iteration
                if exc.status in (409, 412):
                    continue
                raise _write_failed(exc) from exc
            await self._drop_partitions(table, lambda p: _generation(p) < gen - 1)  # noqa: B023 - called within this iteration
            return len(docs)
        raise Conflict(texts.STORE_REIMPORTED)

    async def _transact(self, table: str, ops: list[tuple[str, dict[str, Any]]]) -> None:
        """Run ``ops`` (one partition) as entity-group transactions of up to 100 operations and ~4 MiB."""
        chunk: list[tuple[str, dict[str, Any]]] = []
        size = 0
        for op in ops:
            weight = sum(len(v) for v in op[1].values() if isinstance(v, str)) + 200
            if chunk and (len(chunk) == _TX_OPS or size + weight > _TX_CHARS):
                await self._http.transact(table, chunk)
                chunk, size = [], 0
            chunk.append(op)
            size += weight
        if chunk:
            await self._http.transact(table, chunk)

    async def _drop_partitions(self, table: str, doomed: Callable[[str], bool]) -> None:
        """Delete every record partition ``doomed(name)`` picks (housekeeping: failures are left for next time)."""
        try:
            by_part: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for e in await self._http.query(
                table, f"PartitionKey ne {filter_literal(META)}", select=("PartitionKey", "RowKey")
            ):
                if doomed(e["PartitionKey"]):
                    by_part.setdefault(e["PartitionKey"], []).append(
                        ("delete", {"PartitionKey": e["PartitionKey"], "RowKey": e["RowKey"]})
                    )
            for ops in by_part.values():
                await self._transact(table, ops)
        except TableError:
            pass

    async def delete(self, table: str, key: str) -> None:
        name, table = table, await self._table(table)
        for _ in range(5):
            part = await self._partition(name)
            try:
                await self._http.delete(table, part, _row(key))
            except TableError as exc:
                raise StoreError(store_texts.tables_delete_refused(str(exc))) from exc
            if not await self._moved(name, part):
                return
        raise Conflict(texts.STORE_REIMPORTED)

    async def query(
        self, table: str, where: Mapping[str, Any] | None = None, *, days: tuple[str, str] | None = None
    ) -> list[Record]:
        table, part = await self._locate(table)
        clauses = [f"PartitionKey eq {filter_literal(part)}"]
        for field, value in (where or {}).items():
            clauses.append(f"f_{field} eq {filter_literal(value)}")
        if days:
            clauses.append(f"f_day ge {filter_literal(days[0])} and f_day le {filter_literal(days[1])}")
        try:
            found = [_record(e) for e in await self._http.query(table, " and ".join(clauses))]
        except TableError as exc:
            raise StoreError(store_texts.tables_no_answer(str(exc))) from exc
        return sorted(found, key=lambda r: r.key)

    async def append(self, table: str, doc: dict[str, Any]) -> str:
        key = f"{datetime.now(UTC):%Y%m%d%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        try:
            await self.insert(table, key, doc)
        except Conflict:  # a retried insert whose first try landed: nobody else writes this key
            pass
        return key

    async def close(self) -> None:
        await self._http.close()
        close = getattr(self._credential, "close", None)
        if close is not None:
            await close()
