"""The consent registry: which pupils have parental consent on record, imported from the school's CSV.

Each pupil gets a stable key (``P-XXXXXX``) the first time they are imported; re-importing the
file keeps it (matched on the pupil's name), so concerns and sessions can be told apart per child.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from datetime import date as Date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import UsageError
from bot.policy.booking import Consent, Pupil
from bot.policy.email import Email
from bot.store.base import Store
from bot.store.records import new_ref
from bot.texts import setup as setup_texts

TABLE = "consents"
COLUMNS = ("pupil", "parent_name", "parent_email", "pupil_school_email", "consent", "date", "date_of_birth")
REQUIRED = ("pupil", "parent_name", "parent_email", "consent", "date")


class ConsentRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    pupil: str = Field(min_length=1, max_length=120)
    parent_name: str = Field(min_length=1, max_length=120)
    parent_email: Email
    pupil_school_email: Email | None = None
    consent: Consent
    date: date
    #: Optional: lets retention keep a child protection file until the child's 25th birthday exactly.
    date_of_birth: Date | None = None
    #: Stable key given at first import (empty only before the record is stored).
    pupil_key: str = ""

    @property
    def key(self) -> str:
        return key_of(self.pupil)

    def as_pupil(self) -> Pupil:
        return Pupil(
            name=self.pupil,
            parent_email=self.parent_email,
            school_email=self.pupil_school_email,
            consent=self.consent,
            parent_name=self.parent_name,
        )


def key_of(pupil_name: str) -> str:
    return " ".join(pupil_name.split()).casefold()


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ConsentFileInvalid(UsageError):
    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        super().__init__(
            setup_texts.CONSENT_FILE_INVALID + "\n".join(f"  {p}" for p in problems),
            hint=setup_texts.CONSENT_FILE_HINT,
        )


def parse_csv(text: str) -> list[ConsentRecord]:
    """Every row valid, or ConsentFileInvalid listing every bad row with its line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        msg = []
        if missing:
            msg.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            msg.append(f"unknown column(s): {', '.join(unknown)}")
        raise ConsentFileInvalid([RowProblem(1, "; ".join(msg) + f" (expected: {', '.join(COLUMNS)})")])
    reader.fieldnames = header
    records: list[ConsentRecord] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(RowProblem(line, setup_texts.CONSENT_TOO_MANY_VALUES))
            continue
        data: dict[str, Any] = {k: (v or "").strip() for k, v in row.items()}
        if not any(data.values()):
            continue
        for optional in ("pupil_school_email", "date_of_birth"):
            if not data.get(optional):
                data[optional] = None
        data["consent"] = data.get("consent", "").lower()
        try:
            record = ConsentRecord.model_validate(data)
        except ValidationError as exc:
            for e in exc.errors():
                field = ".".join(str(x) for x in e["loc"])
                problems.append(
                    RowProblem(line, f"{field}: {e['msg']}" if field != "consent" else setup_texts.CONSENT_VALUE)
                )
            continue
        if record.key in seen:
            problems.append(RowProblem(line, setup_texts.consent_repeated(record.pupil, seen[record.key])))
            continue
        seen[record.key] = line
        records.append(record)
    if problems:
        raise ConsentFileInvalid(problems)
    return records


class ConsentRegistry:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def import_records(self, records: list[ConsentRecord]) -> int:
        """Store every row, each with its stable pupil key (kept across re-imports), as one atomic
        write: a crash or a full disk leaves all of them or none."""
        existing = {r.key: r.doc.get("pupil_key") or "" for r in await self._store.query(TABLE)}
        taken = set(existing.values())
        docs: dict[str, dict[str, Any]] = {}
        for r in records:
            key = r.pupil_key or existing.get(r.key) or ""
            while not key or (key in taken and existing.get(r.key) != key):
                key = new_ref("P")
            taken.add(key)
            docs[r.key] = {**r.model_dump(mode="json"), "pupil_key": key}
        return await self._store.upsert_many(TABLE, docs)

    async def by_key(self, pupil_key: str) -> ConsentRecord | None:
        wanted = pupil_key.strip().upper()
        found = [ConsentRecord.model_validate(r.doc) for r in await self._store.query(TABLE, {"pupil_key": wanted})]
        return found[0] if found else None

    async def lookup(self, name_or_key: str) -> ConsentRecord | None:
        """A pupil by stable key (P-XXXXXX) or by name."""
        return await self.by_key(name_or_key) or await self.find(name_or_key)

    async def all(self) -> list[ConsentRecord]:
        return [ConsentRecord.model_validate(r.doc) for r in await self._store.query(TABLE)]

    async def find(self, pupil_name: str) -> ConsentRecord | None:
        rec = await self._store.get(TABLE, key_of(pupil_name))
        return ConsentRecord.model_validate(rec.doc) if rec else None
