"""A small Bolt-shaped router: commands and card verbs registered by decorator in one place.

Matching is exact on the first word (``/book``, ``book``), never a substring. Role guards run
before the handler. Handlers raise ``ChaperoneError``s; this module turns them into error cards
(one place), and any other exception into a card with a reference that is also logged.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot import roles, texts
from bot.chat import Actor, CardAction, Command, Reply
from bot.errors import ChaperoneError, NotPermitted, UsageError

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

CommandHandler = Callable[[Actor, Command, "Services"], Awaitable[Reply]]
VerbHandler = Callable[[Actor, CardAction, "Services"], Awaitable[Reply]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    handler: CommandHandler
    summary: str
    usage: str
    roles: frozenset[str] | None  # None: anyone; otherwise any one of these roles


@dataclass(frozen=True)
class VerbSpec:
    verb: str
    handler: VerbHandler
    roles: frozenset[str] | None


@dataclass
class Router:
    commands: dict[str, CommandSpec] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    verbs: dict[str, VerbSpec] = field(default_factory=dict)
    #: Builds the reply for an unknown command (the help card); set by the registry.
    unknown: CommandHandler | None = None
    #: Builds the error card; set by the registry.
    error_card: Callable[[ChaperoneError, str], dict[str, Any]] | None = None
    #: Turns handled at once. Each turn does a little CPU work between its awaits; when hundreds
    #: become runnable together the event loop would run all those slices back to back, so a
    #: burst waits in line here instead and every other task gets the loop every few ms.
    concurrency: int = 4
    _slots: asyncio.Semaphore | None = field(default=None, repr=False)

    def command(
        self,
        name: str,
        *,
        summary: str,
        usage: str = "",
        aliases: tuple[str, ...] = (),
        roles: tuple[str, ...] | None = None,
    ) -> Callable[[CommandHandler], CommandHandler]:
        def register(fn: CommandHandler) -> CommandHandler:
            if name in self.commands:
                raise ValueError(f"command {name} registered twice")
            self.commands[name] = CommandSpec(
                name, fn, summary, usage or f"/{name}", frozenset(roles) if roles else None
            )
            for a in aliases:
                self.aliases[a] = name
            return fn

        return register

    def verb(self, verb: str, *, roles: tuple[str, ...] | None = None) -> Callable[[VerbHandler], VerbHandler]:
        def register(fn: VerbHandler) -> VerbHandler:
            if verb in self.verbs:
                raise ValueError(f"verb {verb} registered twice")
            self.verbs[verb] = VerbSpec(verb, fn, frozenset(roles) if roles else None)
            return fn

        return register

    def allowed(self, spec: CommandSpec | VerbSpec, actor: Actor) -> bool:
        return spec.roles is None or bool(spec.roles & actor.roles)

    def available(self, actor: Actor) -> list[CommandSpec]:
        return [c for c in self.commands.values() if self.allowed(c, actor)]

    async def dispatch(self, actor: Actor, inp: Command | CardAction, services: Services) -> Reply:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        async with self._slots:
            return await self._dispatch(actor, inp, services)

    async def _dispatch(self, actor: Actor, inp: Command | CardAction, services: Services) -> Reply:
        actor = replace(actor, roles=frozenset(), role_sources=())  # nothing trusted from the caller: fail closed
        try:
            actor = await roles.resolve(actor, services)
            if isinstance(inp, Command):
                spec = self.commands.get(self.aliases.get(inp.name, inp.name))
                if spec is None:
                    assert self.unknown is not None
                    return await self.unknown(actor, inp, services)
                if not self.allowed(spec, actor):
                    actor = await roles.recheck(
                        actor, spec.roles or (), services, what=f"command.{spec.name}", record=" ".join(inp.args[:1])
                    )
                if not self.allowed(spec, actor):
                    raise roles.audited(
                        NotPermitted(
                            texts.COMMAND_ROLE.format(name=spec.name, roles=texts.role_words(spec.roles or ())),
                            hint=texts.ROLE_HINT,
                        )
                    )
                return await spec.handler(actor, inp, services)
            vspec = self.verbs.get(inp.verb)
            if vspec is None:
                raise UsageError(texts.CARD_OUT_OF_DATE, hint=texts.CARD_OUT_OF_DATE_HINT)
            if not self.allowed(vspec, actor):
                actor = await roles.recheck(
                    actor, vspec.roles or (), services, what=vspec.verb, record=str(inp.data.get("ref") or "")
                )
            if not self.allowed(vspec, actor):
                raise roles.audited(
                    NotPermitted(
                        texts.BUTTON_NOT_YOURS.format(roles=texts.role_words(vspec.roles or ())), hint=texts.ROLE_HINT
                    )
                )
            return await vspec.handler(actor, inp, services)
        except ChaperoneError as exc:
            ref = uuid.uuid4().hex[:8]
            log.info("refused ref=%s actor=%s error=%s", ref, actor.key, type(exc).__name__)
            if isinstance(exc, NotPermitted) and not exc.audited:
                await roles.audit_refusal(actor, inp, str(exc), services)
            return self._error_reply(exc, ref, inp)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("unexpected error ref=%s actor=%s", ref, actor.key)
            err = ChaperoneError(texts.UNEXPECTED, hint=texts.UNEXPECTED_HINT.format(ref=ref))
            return self._error_reply(err, ref, inp)

    def _error_reply(self, exc: ChaperoneError, ref: str, inp: Command | CardAction) -> Reply:
        assert self.error_card is not None
        card = self.error_card(exc, ref)
        if isinstance(inp, CardAction) and inp.kind == "execute":
            return Reply(replace=card)
        return Reply(cards=(card,))
