"""Who holds which role: Entra groups first, listed AAD object ids next, emails only as break-glass.

Roles are matched on the activity's AAD object id and tenant. An activity from another tenant, or
from a B2B guest (roster ``userRole`` "guest" or an ``#EXT#`` UPN), gets no role at all, whatever
its email says. Group members are read through a :class:`Directory` (Graph ``transitiveMembers``,
object ids only), cached in the store for ten minutes and re-read once before a refusal. Every
refusal of a role-guarded action is audited with who, what, which record and why, and each role
carries where it came from ("group", "list" or "break-glass") for the audit trail.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from bot import texts
from bot.chat import Actor, CardAction, Command, Contact, Mention
from bot.errors import ChaperoneError, NotPermitted, StoreError

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
GROUPS_TABLE = "role_groups"
PEOPLE_TABLE = "people"
CACHE_FOR = timedelta(minutes=10)
_REFERENCE = re.compile(r"[SCP]-[2-9A-HJ-NP-Z]{6}")
#: How long this process trusts that the people table holds what it last stored for someone (other
#: instances, or the CLI, may write the record meanwhile: within this time a turn may skip the write).
PEOPLE_TTL = 300.0
PEOPLE_MAX = 50_000
#: Every role a person can hold besides "staff" (the [roles] lists and *_group ids of the school config).
ROLE_NAMES = ("admin", "slt", "dsl", "dsl_deputy", "head", "chair")


class Directory(Protocol):
    """Entra ID group membership (implemented over Graph in bot.meetings.graph_directory)."""

    async def transitive_members(self, group_id: str) -> frozenset[str]:
        """The AAD object ids of every user in the group, nested groups included."""


@dataclass(frozen=True)
class Person:
    """Someone of the school's tenant the bot has seen: enough to mention them and open a 1:1."""

    aad_id: str
    name: str
    user_id: str | None = None
    email: str | None = None
    upn: str | None = None
    tenant_id: str | None = None
    service_url: str | None = None

    @property
    def mention(self) -> Mention:
        return Mention(id=self.user_id or self.aad_id, name=self.name)

    @property
    def contact(self) -> Contact | None:
        if not (self.user_id and self.service_url):
            return None
        return Contact(aad_id=self.aad_id, user_id=self.user_id, tenant_id=self.tenant_id, service_url=self.service_url)


class SeenPeople:
    """The people records this process stored or read, with when: a turn whose person is exactly
    as stored skips the read and the write (a saving, not a check: roles never come from here)."""

    def __init__(self) -> None:
        self._docs: dict[str, tuple[float, dict[str, Any]]] = {}

    def same(self, key: str, doc: dict[str, Any]) -> bool:
        hit = self._docs.get(key)
        return hit is not None and time.monotonic() - hit[0] < PEOPLE_TTL and hit[1] == doc

    def keep(self, key: str, doc: dict[str, Any]) -> None:
        if len(self._docs) >= PEOPLE_MAX:
            self._docs.clear()
        self._docs[key] = (time.monotonic(), dict(doc))

    def forget(self, key: str) -> None:
        self._docs.pop(key, None)


def is_guest(actor: Actor) -> bool:
    return (actor.user_role or "").casefold() == "guest" or any(
        "#ext#" in (x or "").casefold() for x in (actor.upn, actor.email)
    )


def in_school_tenant(actor: Actor, services: Services) -> bool:
    school = services.school.school.tenant_id.strip().casefold()
    return bool(school) and (actor.where.tenant_id or "").strip().casefold() == school


def no_role_reason(actor: Actor, services: Services) -> str:
    if not in_school_tenant(actor, services):
        return "another tenant"
    if is_guest(actor):
        return "guest account"
    return ""


def group_id(role: str, services: Services) -> str:
    return services.settings.group_id(role) or services.school.roles.group(role)


async def group_members(gid: str, services: Services, *, fresh: bool = False) -> frozenset[str]:
    """A group's members (casefolded object ids) from the store's ten-minute cache, else the directory."""
    now = services.clock.now()
    cached = await services.store.get(GROUPS_TABLE, gid)
    if cached and not fresh and now - datetime.fromisoformat(cached.doc["at"]) < CACHE_FOR:
        return frozenset(cached.doc["members"])
    if services.directory is None:
        return frozenset(cached.doc["members"]) if cached else frozenset()
    try:
        members = frozenset(m.casefold() for m in await services.directory.transitive_members(gid))
    except ChaperoneError as exc:
        log.warning("group members not read group=%s error=%s; using the last copy", gid, type(exc).__name__)
        return frozenset(cached.doc["members"]) if cached else frozenset()
    await services.store.upsert(GROUPS_TABLE, gid, {"members": sorted(members), "at": now.isoformat()})
    return members


def _listed(role: str, services: Services) -> tuple[set[str], set[str]]:
    listed = services.school.roles.members(role)
    return {m.strip().casefold() for m in listed if "@" not in m}, {m.strip().casefold() for m in listed if "@" in m}


async def sources_of(actor: Actor, services: Services, *, fresh: bool = False) -> dict[str, str]:
    """Role -> where it came from, for an actor of the school's tenant who is not a guest."""
    if no_role_reason(actor, services):
        return {}
    aad = (actor.aad_id or "").casefold()
    emails = {e.strip().casefold() for e in (actor.email, actor.upn) if e}
    held: dict[str, str] = {}
    for role in ROLE_NAMES:
        gid = group_id(role, services)
        if gid and aad and aad in await group_members(gid, services, fresh=fresh):
            held[role] = "group"
            continue
        ids, mails = _listed(role, services)
        if aad and aad in ids:
            held[role] = "list"
        elif emails & mails:
            held[role] = "break-glass"
    return held


async def resolve(actor: Actor, services: Services, *, fresh: bool = False) -> Actor:
    """The actor with their roles (and "staff" for the school's own staff) and where each came from."""
    held = await sources_of(actor, services, fresh=fresh)
    roles = set(held)
    if not no_role_reason(actor, services) and (
        held or any(services.school.is_staff_email(e) for e in (actor.email, actor.upn) if e)
    ):
        roles.add("staff")
    resolved = replace(actor, roles=frozenset(roles), role_sources=tuple(sorted(held.items())))
    if "staff" in roles and actor.aad_id:
        try:
            await remember(resolved, services)
        except StoreError as exc:  # best effort, like the conversation reference: the turn still gets its answer
            log.warning("person not remembered actor=%s error=%s", actor.key, type(exc).__name__)
    return resolved


async def recheck(actor: Actor, needed: Iterable[str], services: Services, *, what: str, record: str) -> Actor:
    """Before refusing: read the groups again once; if still refused, audit who, what, which record and why."""
    need = frozenset(needed)
    record = (
        record.strip().upper() if _REFERENCE.fullmatch(record.strip().upper()) else "-"
    )  # never free text (a name) in the audit
    if not no_role_reason(actor, services) and any(group_id(r, services) for r in need):
        actor = await resolve(actor, services, fresh=True)
    if not need & actor.roles:
        why = no_role_reason(actor, services) or f"needs {'/'.join(sorted(need))}"
        await services.audit.record(
            at=services.clock.now(), who=actor.key, action=f"{what}.refused", record=record, detail=why
        )
        log.warning("refused actor=%s what=%s record=%s why=%s", actor.key, what, record, why)
    return actor


def audited(exc: NotPermitted) -> NotPermitted:
    """Mark a refusal already written to the audit trail (so the router does not write it twice)."""
    exc.audited = True
    return exc


async def audit_refusal(actor: Actor, inp: Command | CardAction, why: str, services: Services) -> None:
    """Any other refusal a handler raised: who, what, which record (a reference only) and why (its sentence)."""
    if isinstance(inp, Command):
        what, record = f"command.{inp.name}", (inp.args[0] if inp.args else "")
    else:
        what, record = inp.verb or "card", str(inp.data.get("ref") or "")
    record = record.strip().upper() if _REFERENCE.fullmatch(record.strip().upper()) else "-"
    await services.audit.record(
        at=services.clock.now(), who=actor.key, action=f"{what}.refused", record=record, detail=why[:200]
    )


def audit_source(actor: Actor, *roles: str) -> str:
    """``role=dsl via group`` for the audit trail."""
    for role in roles:
        if actor.has(role):
            return f"role={role} via {actor.role_source(role) or 'unknown'}"
    return ""


async def remember(actor: Actor, services: Services) -> None:
    """Keep what is needed to mention a member of staff and open a 1:1 with them (written only when it changes)."""
    assert actor.aad_id
    doc = {
        "aad_id": actor.aad_id,
        "name": actor.name,
        "user_id": actor.user_id or None,
        "email": actor.email,
        "upn": actor.upn,
        "tenant_id": actor.where.tenant_id,
        "service_url": actor.where.service_url,
    }
    key = actor.aad_id.casefold()
    if services.seen_people.same(key, doc):
        return
    services.seen_people.forget(key)  # a failed write leaves nothing cached
    existing = await services.store.get(PEOPLE_TABLE, key)
    if existing is None or existing.doc != doc:
        await services.store.upsert(PEOPLE_TABLE, key, doc)
    services.seen_people.keep(key, doc)


async def holders(role: str, services: Services) -> list[Person]:
    """Everyone known to hold a role: group members, listed object ids, and people seen with a listed email."""
    aads: set[str] = set()
    gid = group_id(role, services)
    if gid:
        aads |= await group_members(gid, services)
    ids, mails = _listed(role, services)
    aads |= ids
    people = {r.key: r.doc for r in await services.store.query(PEOPLE_TABLE)}
    for key, doc in people.items():
        if {str(doc.get("email") or "").casefold(), str(doc.get("upn") or "").casefold()} & mails:
            aads.add(key)
    out = []
    for aad in sorted(aads):
        seen = people.get(aad)
        out.append(
            Person(
                aad_id=str(seen["aad_id"]),
                name=str(seen["name"]),
                user_id=seen.get("user_id"),
                email=seen.get("email"),
                upn=seen.get("upn"),
                tenant_id=seen.get("tenant_id"),
                service_url=seen.get("service_url"),
            )
            if seen
            else Person(aad_id=aad, name=texts.ROLE_TITLES.get(role, role))
        )
    return out
