"""The append-only audit trail: every state change and every view of a concern (who, what, when, which record)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.base import Store

TABLE = "audit"


@dataclass(frozen=True)
class AuditEntry:
    at: str
    who: str
    action: str
    record: str
    detail: str

    def line(self) -> str:
        return f"{self.at}  {self.who:38} {self.action:24} {self.record:10} {self.detail}".rstrip()


class Audit:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(self, *, at: datetime, who: str, action: str, record: str, detail: str = "") -> None:
        """Append one entry. ``who`` is an id (AAD object id or 'cli:<user>'), never a name;
        ``detail`` never carries a pupil's name or a concern's narrative."""
        await self._store.append(
            TABLE,
            {
                "at": at.isoformat(),
                "who": who,
                "action": action,
                "record": record,
                "detail": detail,
                "day": at.date().isoformat(),
            },
        )

    async def entries(self, record: str | None = None) -> list[AuditEntry]:
        rows = await self._store.query(TABLE, {"record": record} if record else None)
        out = [AuditEntry(**{k: r.doc.get(k, "") for k in ("at", "who", "action", "record", "detail")}) for r in rows]
        return sorted(out, key=lambda e: e.at)


def describe(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items() if v not in (None, ""))
