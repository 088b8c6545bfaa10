"""Roles from AAD object ids and tenant: groups through a loopback Graph with a token credential,
no role for another tenant or a guest, break-glass emails labelled, refusals audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC

import pytest

from bot import roles
from bot.audit import Audit
from bot.config import SchoolConfig, Settings
from bot.meetings.graph_directory import GraphDirectory
from tests.fakes.graph_server import FakeGraph
from tests.support.harness import Harness
from tests.support.people import actor
from tests.support.tokens import StaticToken

DSL_GROUP = "11111111-0000-0000-0000-00000000d51"
SLT_GROUP = "22222222-0000-0000-0000-000000005e7"


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph(
        users=set(),
        groups={DSL_GROUP: ["aad-oli", "group:nested"], "nested": ["aad-sian"], SLT_GROUP: ["aad-sam"]},
        require_token="t0ken",
    )
    fake.base_url = await fake.start()  # type: ignore[attr-defined]
    yield fake
    await fake.stop()


@pytest.fixture
async def directory(graph: FakeGraph) -> AsyncIterator[GraphDirectory]:
    credential = StaticToken("t0ken")
    d = GraphDirectory.with_credential(graph.base_url, credential)  # type: ignore[attr-defined]
    yield d
    await d.close()
    assert (
        credential.scopes == [("https://graph.microsoft.com/.default",)] * len(credential.scopes) and credential.scopes
    )


def with_groups(harness: Harness, **groups: str) -> None:
    data = harness.services.school.model_dump()
    data["roles"].update(groups)
    harness.services.school = SchoolConfig.model_validate(data)


async def test_transitive_members_through_graph_with_a_token(directory: GraphDirectory, graph: FakeGraph) -> None:
    assert await directory.transitive_members(DSL_GROUP) == {
        "aad-oli",
        "aad-sian",
    }  # nested group's user, not the group
    assert any("$skiptoken" in c.path for c in graph.calls)  # followed the next link


async def test_group_role_cached_then_reread_once_before_a_refusal(
    harness: Harness, directory: GraphDirectory, graph: FakeGraph
) -> None:
    harness.services.directory = directory
    with_groups(harness, dsl_group=DSL_GROUP)
    oli = await roles.resolve(actor("oli"), harness.services)
    assert oli.has("dsl") and oli.role_source("dsl") == "group"
    calls = len(graph.calls)
    await roles.resolve(actor("oli"), harness.services)
    assert len(graph.calls) == calls  # from the store's cache
    # tara joins the group: a refusal re-reads the group once and lets her in
    graph.groups[DSL_GROUP].append("aad-tara")
    tara = await roles.resolve(actor("tara"), harness.services)
    assert not tara.has("dsl")
    tara = await roles.recheck(tara, ("dsl",), harness.services, what="concern.open", record="C-TEST")
    assert tara.has("dsl") and tara.role_source("dsl") == "group"
    assert [e.action for e in await Audit(harness.services.store).entries("C-TEST")] == []


async def test_environment_group_id_overrides_the_config(harness: Harness, directory: GraphDirectory) -> None:
    harness.services.directory = directory
    with_groups(harness, slt_group="not-this-one")
    harness.services.settings = Settings.from_env({"CHAPERONE_SLT_GROUP_ID": SLT_GROUP})
    assert (await roles.resolve(actor("sam"), harness.services)).role_source("slt") == "group"


async def test_listed_object_id_and_break_glass_email(harness: Harness) -> None:
    with_groups(harness, dsl=["aad-dee"], head=["hana.head@example.org"])
    dee = await roles.resolve(actor("dee"), harness.services)
    assert dee.role_source("dsl") == "list"
    hana = await roles.resolve(
        replace(actor("oli"), email="hana.head@example.org", upn="hana.head@example.org", aad_id="aad-hana"),
        harness.services,
    )
    assert hana.role_source("head") == "break-glass"


async def test_another_tenant_with_the_dsls_email_gets_no_role(harness: Harness) -> None:
    dee = actor("dee")
    forged = replace(dee, where=replace(dee.where, tenant_id="99999999-0000-0000-0000-000000000bad"))
    assert (await roles.resolve(forged, harness.services)).roles == frozenset()


async def test_a_guest_on_a_staff_domain_gets_no_role(harness: Harness) -> None:
    guest = replace(actor("dee"), user_role="guest")
    assert (await roles.resolve(guest, harness.services)).roles == frozenset()
    ext = replace(actor("dee"), upn="dee.lead_example.org#EXT#@oakfield.onmicrosoft.com")
    assert (await roles.resolve(ext, harness.services)).roles == frozenset()


async def test_a_refused_command_is_audited_with_why(harness: Harness) -> None:
    guest = replace(actor("ivy"), user_role="guest")
    from bot.chat import Command

    await harness.router.dispatch(guest, Command("setup", ("safeguarding",)), harness.services)
    [entry] = [e for e in await Audit(harness.services.store).entries() if e.action.endswith(".refused")]
    assert (entry.who, entry.action, entry.record, entry.detail) == (
        "aad-ivy",
        "command.setup.refused",
        "-",
        "guest account",
    )


async def test_a_refusal_never_writes_free_text_into_the_audit(harness: Harness) -> None:
    await harness.say("tara", "/chronology Pip Example")
    [entry] = [e for e in await Audit(harness.services.store).entries() if e.action.endswith(".refused")]
    assert (entry.action, entry.record, entry.detail) == ("command.chronology.refused", "-", "needs dsl/dsl_deputy")


async def test_roles_cache_case_and_retention_marker_on_table_storage(
    harness: Harness, directory: GraphDirectory, graph: FakeGraph, azurite: str
) -> None:
    """The same code on Azure Table Storage (Azurite): the group cache, an append-only case, the daily claim."""
    import uuid
    from datetime import date, datetime

    from bot.concerns import retention
    from bot.concerns.case import Case, CaseEntry
    from bot.errors import Conflict
    from bot.store.tables import AzureTableStore

    store = AzureTableStore(azurite, prefix=f"t{uuid.uuid4().hex[:8]}")
    try:
        harness.services.store = store
        harness.services.directory = directory
        with_groups(harness, dsl_group=DSL_GROUP)
        assert (await roles.resolve(actor("oli"), harness.services)).role_source("dsl") == "group"
        calls = len(graph.calls)
        assert (await roles.resolve(actor("sian"), harness.services)).has("dsl")
        assert len(graph.calls) == calls  # cached in the table
        at = datetime(2026, 11, 23, 9, tzinfo=UTC)
        case = Case(store)
        for text in ("first", "second"):
            await case.add(CaseEntry(ref="C-TABLES", kind="note", at=at, by="aad-dee", by_name="Dee Lead", text=text))
        entries = await case.entries("C-TABLES")
        assert [(e.seq, e.text) for e in entries] == [(1, "first"), (2, "second")]
        with pytest.raises(Conflict):
            await store.insert(
                "case_entries", entries[0].key, {**entries[0].model_dump(mode="json"), "text": "rewritten"}
            )
        claims = [await retention.claim_day(store, date(2026, 11, 23)) for _ in range(3)]
        assert claims == [True, False, False]
    finally:
        await store.close()


async def test_a_refusal_raised_inside_a_workflow_is_audited_once(harness: Harness) -> None:
    from tests.support.forms import END
    from tests.support.harness import scheduled

    s = await scheduled(harness)
    await harness.act("oli", "end.submit", {"ref": s.ref, **END})
    refusals = [e for e in await Audit(harness.services.store).entries(s.ref) if e.action.endswith(".refused")]
    assert [(e.who, e.action) for e in refusals] == [("aad-oli", "end.submit.refused")] and s.ref in refusals[0].detail


class CountingStore:
    """The harness's store, counting the people table's reads and writes."""

    def __init__(self, inner: object) -> None:
        self.inner, self.calls = inner, []  # type: ignore[var-annotated]

    def __getattr__(self, name: str) -> object:
        method = getattr(self.inner, name)

        async def counted(table: str, *args: object, **kwargs: object) -> object:
            if table == roles.PEOPLE_TABLE:
                self.calls.append(name)
            return await method(table, *args, **kwargs)

        return counted


async def test_a_person_stored_as_they_are_is_not_read_again_and_a_change_is_still_stored(harness: Harness) -> None:
    store = harness.services.store
    counting = CountingStore(store)
    harness.services.store = counting  # type: ignore[assignment]
    tara = await roles.resolve(actor("tara"), harness.services)
    assert tara.has("staff") and counting.calls == ["get", "upsert"]
    await roles.resolve(actor("tara"), harness.services)
    assert counting.calls == ["get", "upsert"]  # exactly as stored: no read, no write
    renamed = replace(actor("tara"), name="Tara Teacher-Jones", email="tara.jones@example.org")
    again = await roles.resolve(renamed, harness.services)
    assert again.roles == tara.roles  # roles from the object id and tenant, whatever the cache holds
    assert counting.calls == ["get", "upsert", "get", "upsert"]
    stored = await store.get(roles.PEOPLE_TABLE, "aad-tara")
    assert (
        stored is not None
        and stored.doc["name"] == "Tara Teacher-Jones"
        and stored.doc["email"] == "tara.jones@example.org"
    )
    moved = replace(renamed, where=replace(renamed.where, service_url="https://smba.example.org/emea/"))
    await roles.resolve(moved, harness.services)
    stored = await store.get(roles.PEOPLE_TABLE, "aad-tara")
    assert stored is not None and stored.doc["service_url"] == "https://smba.example.org/emea/"
