"""The one error hierarchy of Chaperone; every message is one a teacher can read.

ChaperoneError
├── UsageError            the input is malformed or incomplete (bad card submission, bad file)
├── NotFound              the reference names nothing we hold
├── NotPermitted          the actor's role does not allow this
├── PolicyViolation       the booking breaks the school's protocol (carries the violations)
├── Conflict              someone else changed the record first (e.g. a second adult already accepted)
├── ExternalServiceError  a Microsoft service failed
│   ├── GraphError        Microsoft Graph (meetings, calendar, mail)
│   └── StoreError        the store could not read or write
│       └── StoreCorrupt  a store file is damaged; nothing was overwritten
└── ConfigError           the configuration is wrong (start-up only)
"""

from __future__ import annotations

from typing import Any

from bot import texts
from bot.texts import hints


class ChaperoneError(Exception):
    """Base of every error Chaperone raises on purpose. ``str(err)`` is for the user."""

    #: What the user can do next; shown under the message on the error card.
    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self)


class UsageError(ChaperoneError):
    hint = hints.USAGE


class NotFound(ChaperoneError):
    hint = hints.NOT_FOUND


class NotPermitted(ChaperoneError):
    hint = hints.NOT_PERMITTED
    #: Set where the refusal was already written to the audit trail; the router audits every other one.
    audited: bool = False


class PolicyViolation(ChaperoneError):
    hint = hints.POLICY

    def __init__(self, message: str, *, violations: list[Any] | None = None) -> None:
        super().__init__(message)
        self.violations = list(violations or [])


class Conflict(ChaperoneError):
    hint = hints.CONFLICT


class ExternalServiceError(ChaperoneError):
    hint = hints.EXTERNAL


class GraphError(ExternalServiceError):
    """A Microsoft Graph failure, by ``reason`` (a code in ``texts.GRAPH_FAILURES``; records store the code)."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retryable: bool = False,
        fields: tuple[str, ...] = (),
    ) -> None:
        super().__init__(
            texts.GRAPH_FAILURES.get(reason, texts.GRAPH_FAILURES["refused"]), hint=texts.GRAPH_HINTS.get(reason)
        )
        self.reason = reason
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retryable = retryable
        #: The meeting settings this failure left unapplied (empty: not about settings).
        self.fields = fields


class StoreError(ExternalServiceError):
    pass


class StoreCorrupt(StoreError):
    hint = hints.STORE_CORRUPT


class ConfigError(ChaperoneError):
    hint = hints.CONFIG
