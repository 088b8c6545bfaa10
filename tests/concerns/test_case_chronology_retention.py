"""The case (append-only, in order, audited), a pupil's chronology across sessions, retention with legal holds,
and their CLI commands, through the real router and store."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.audit import Audit
from bot.cli import main
from bot.concerns import retention
from bot.concerns.case import TABLE as CASE_TABLE
from bot.concerns.case import Case
from bot.errors import Conflict
from bot.policy.model import Retention
from tests.support.forms import CONCERN, END, FORM
from tests.support.harness import Harness, setup_channels
from tests.support.people import NOW
from tests.support.schemas import card_text


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def two_sessions_and_a_concern(h: Harness) -> tuple[list[Any], Any]:
    await setup_channels(h)
    await h.book()
    await h.book(
        form={**FORM, "date": "2026-11-26", "pupils": "Pip Example", "title": "Reading catch-up"}, card_id="form-2"
    )
    sessions = sorted(await h.services.sessions.all(), key=lambda s: s.booking.start)
    assert len(sessions) == 2
    for s in sessions:
        await h.act("sam", "second.accept", {"ref": s.ref}, kind="execute")
    await h.services.tasks.drain()
    h.services.clock.at = sessions[0].booking.end  # type: ignore[attr-defined]  # /end is for a session that has started
    await h.act("tara", "end.submit", {"ref": sessions[0].ref, **END})
    h.services.clock.at = NOW  # type: ignore[attr-defined]  # the concern keeps the dates these tests count from
    pip = await h.services.consents.find("Pip Example")
    assert pip is not None and pip.pupil_key.startswith("P-")
    await h.act(
        "tara", "concern.submit", {**CONCERN, "pupil": f"{pip.pupil_key},Quinn Example", "session": sessions[0].ref}
    )
    [c] = await h.services.concerns.all()
    assert c.pupil == "Pip Example, Quinn Example" and len(c.pupil_keys) == 2
    return sessions, c


async def test_chronology_lists_concerns_and_sessions_newest_first(harness: Harness) -> None:
    sessions, c = await two_sessions_and_a_concern(harness)
    refused = await harness.say("tara", "/chronology Pip Example")
    assert "Not allowed" in card_text(refused.cards[0])
    reply = await harness.say("dee", "/chronology Pip Example")
    text = card_text(reply.cards[0])
    order = [text.index(sessions[1].ref), text.index(sessions[0].ref), text.index(c.ref)]
    assert order == sorted(order)  # 26 Nov session, 25 Nov session, the concern raised on 23 Nov
    assert "Reading catch-up" in text and "Disclosure" in text and "present" in text
    quinn = card_text((await harness.say("dee", "/chronology Quinn Example")).cards[0])
    assert c.ref in quinn and sessions[0].ref in quinn and sessions[1].ref not in quinn
    [viewed, _] = [e for e in await Audit(harness.services.store).entries() if e.action == "pupil.chronology.viewed"]
    assert viewed.who == "aad-dee" and viewed.record.startswith("P-") and "break-glass" in viewed.detail


async def test_a_case_shows_its_entries_in_order_and_none_can_be_changed(harness: Harness) -> None:
    _, c = await two_sessions_and_a_concern(harness)
    before = c.model_dump(include={"pupil", "what", "child_words", "category", "when", "action_taken"})
    await harness.act("dee", "concern.ack", {"ref": c.ref}, kind="execute")
    entries = [
        {"kind": "decision", "text": "Refer: disclosure of harm at home."},
        {"kind": "referral", "agency": "Children's social care / MASH", "agency_ref": "MASH-1234", "on": "2026-11-23"},
        {"kind": "action", "text": "Spoke to class teacher."},
        {"kind": "outcome", "text": "No further action from MASH; monitor."},
        {"kind": "transferred", "system": "CPOMS", "on": "2026-11-24"},
    ]
    for e in entries:
        reply = await harness.act("dee", "concern.entry", {"ref": c.ref, **e}, kind="execute")
    refused = await harness.act("tara", "concern.entry", {"ref": c.ref, "kind": "note", "text": "mine"}, kind="execute")
    assert "Only the DSL" in card_text(refused.replace)
    bad = await harness.act("dee", "concern.entry", {"ref": c.ref, "kind": "referral", "agency": ""}, kind="execute")
    assert "agency" in card_text(bad.replace)
    text = card_text(reply.replace)
    positions = [
        text.index(t)
        for t in (
            "1. Acknowledged",
            "2. Decision",
            "3. Referral",
            "MASH-1234",
            "4. Action",
            "5. Outcome",
            "6. Transferred",
            "CPOMS",
        )
    ]
    assert positions == sorted(positions)
    case = await Case(harness.services.store).entries(c.ref)
    assert [e.kind for e in case] == ["acknowledged", "decision", "referral", "action", "outcome", "transferred"]
    # append-only: the case offers no change; an entry's key cannot be written twice; the concern is untouched
    assert not [m for m in dir(Case) if m in ("update", "replace", "edit", "change")]
    with pytest.raises(Conflict):
        await harness.services.store.insert(
            CASE_TABLE, case[1].key, {**case[1].model_dump(mode="json"), "text": "rewritten"}
        )
    with pytest.raises(ValidationError):
        case[1].text = "rewritten"  # type: ignore[misc]
    assert (await Case(harness.services.store).entries(c.ref))[1].text == "Refer: disclosure of harm at home."
    after, _ = await harness.services.concerns.get(c.ref)
    assert after.model_dump(include=set(before)) == before
    actions = [e.action for e in await Audit(harness.services.store).entries(c.ref) if e.action.startswith("case.")]
    assert actions == [
        "case.note.refused",
        "case.decision",
        "case.referral",
        "case.action",
        "case.outcome",
        "case.transferred",
    ] or actions == [
        "case.decision",
        "case.referral",
        "case.action",
        "case.outcome",
        "case.transferred",
        "case.note.refused",
    ]


async def test_a_typed_pupil_is_linked_later_and_then_in_the_chronology(harness: Harness) -> None:
    await harness.act("tara", "concern.submit", {**CONCERN, "pupil": "", "pupil_other": "Robyn Exampel"})
    [c] = await harness.services.concerns.all()
    assert c.unlinked == "Robyn Exampel" and c.pupil_keys == []
    robin = await harness.services.consents.find("Robin Example")
    assert robin is not None
    await harness.act(
        "dee", "concern.entry", {"ref": c.ref, "kind": "linked", "pupil_key": robin.pupil_key}, kind="execute"
    )
    assert c.ref in card_text((await harness.say("dee", f"/chronology {robin.pupil_key}")).cards[0])


async def test_a_forged_session_is_refused(harness: Harness) -> None:
    reply = await harness.act(
        "tara", "concern.submit", {**CONCERN, "session": "Pip Example said [x](http://example.com)"}
    )
    assert "not one of yours" in card_text(reply.cards[0] if reply.cards else reply.replace)
    assert await harness.services.concerns.all() == []


async def test_retention_deletes_exactly_what_is_past_its_date_keeps_holds_and_audits(harness: Harness) -> None:
    sessions, c = await two_sessions_and_a_concern(harness)
    await harness.act("dee", "concern.ack", {"ref": c.ref}, kind="execute")
    await harness.act("tara", "concern.submit", {**CONCERN, "category": "Welfare"}, card_id="concern-2")
    second = next(x for x in await harness.services.concerns.all() if x.ref != c.ref)
    await harness.act("dee", "concern.ack", {"ref": second.ref}, kind="execute")
    await harness.act(
        "tara", "concern.submit", {**CONCERN, "category": "Other"}, card_id="concern-3"
    )  # never acknowledged: never deleted
    store, rules = harness.services.store, Retention(register_years=6, concern_years=5)
    t = datetime(2026, 11, 23, 8, tzinfo=UTC)
    await retention.hold(store, second.ref, who="cli:test", at=t)

    # 2032-11-26: the ended session is past six years; the open one (never closed) and every concern stay
    assert [(d.ref, d.held) for d in await retention.plan(store, rules, date(2032, 11, 26))] == [
        (sessions[0].ref, False)
    ]
    assert [d.ref for d in await retention.plan(store, rules, date(2032, 11, 24))] == []
    # no date of birth: a child's concern is kept 25 years from when it was raised (later than any 25th birthday)
    assert [d.ref for d in await retention.plan(store, rules, date(2051, 11, 22)) if d.table == "concerns"] == []
    done = await retention.run(store, rules, datetime(2051, 11, 23, 9, tzinfo=UTC))
    assert {d.ref for d in done} == {sessions[0].ref, c.ref}
    left = {x.ref for x in await harness.services.concerns.all()}
    assert c.ref not in left and second.ref in left and len(left) == 2
    assert await Case(store).entries(c.ref) == []
    audit = await Audit(store).entries()
    deleted = [(e.record, e.detail) for e in audit if e.action == "retention.deleted"]
    assert {r for r, _ in deleted} == {sessions[0].ref, c.ref} and all("Pip" not in d for _, d in deleted)
    assert [e.record for e in audit if e.action == "retention.kept_on_hold"] == [second.ref]


async def test_a_date_of_birth_keeps_a_child_file_until_the_25th_birthday(harness: Harness) -> None:
    await harness.act("tara", "concern.submit", CONCERN)
    [c] = await harness.services.concerns.all()
    rules = Retention(register_years=6, concern_years=5)
    pip = await harness.services.consents.find("Pip Example")
    assert pip is not None
    await harness.services.consents.import_records([pip.model_copy(update={"date_of_birth": date(2016, 3, 1)})])
    assert (await harness.services.consents.find("Pip Example")).pupil_key == pip.pupil_key  # type: ignore[union-attr]
    assert await retention.concern_keep_until(c, rules, harness.services.consents) == date(2041, 3, 1)
    staff = c.model_copy(update={"about": "staff"})
    assert await retention.concern_keep_until(staff, rules, harness.services.consents) == date(2036, 11, 23)


async def test_two_instances_run_retention_once_a_day(harness: Harness) -> None:
    store = harness.services.store
    first = await asyncio.gather(*(retention.claim_day(store, date(2026, 11, 23)) for _ in range(5)))
    assert sorted(first) == [False, False, False, False, True]
    assert not await retention.claim_day(store, date(2026, 11, 23))
    assert await retention.claim_day(store, date(2026, 11, 24))


async def test_cli_chronology_child_file_hold_and_retention(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions, c = await two_sessions_and_a_concern(harness)
    await harness.act("dee", "concern.ack", {"ref": c.ref}, kind="execute")
    monkeypatch.setenv("CHAPERONE_DATA_DIR", str(tmp_path / "data"))
    pip = await harness.services.consents.find("Pip Example")
    assert pip is not None
    assert await cli("concern", "chronology", "Pip", "Example") == 0
    out = capsys.readouterr().out
    assert out.index(sessions[1].ref) < out.index(sessions[0].ref) < out.index(c.ref)

    target = tmp_path / "elsewhere.json"
    target.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert (
        await cli("concern", "export", "--pupil", pip.pupil_key, "--output", str(link)) == 2
    )  # never through a symlink
    assert target.read_text() == "keep me"
    out_file = tmp_path / "pip.json"
    assert await cli("concern", "export", "--pupil", pip.pupil_key, "--output", str(out_file)) == 0
    assert stat.S_IMODE(os.stat(out_file).st_mode) == 0o600
    data = json.loads(out_file.read_text())
    assert data["pupil"]["key"] == pip.pupil_key and [x["ref"] for x in data["concerns"]] == [c.ref]
    assert [e["kind"] for e in data["concerns"][0]["case"]] == ["acknowledged"] and len(data["sessions"]) == 2

    assert await cli("concern", "hold", c.ref) == 0
    assert await cli("retention", "--dry-run") == 0
    assert "Nothing is past its retention date." in capsys.readouterr().out
    actions = [e.action for e in await Audit(harness.services.store).entries()]
    assert "pupil.file.exported" in actions and "retention.hold" in actions and "pupil.chronology.viewed" in actions


async def test_a_large_registry_lists_the_users_own_pupils_and_a_typed_registry_name_is_linked(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.commands import concern as concern_cmd
    from tests.support.schemas import inputs

    await setup_channels(harness)
    await harness.book(form={**FORM, "pupils": "Quinn Example"})
    monkeypatch.setattr(concern_cmd, "MAX_LISTED", 2)
    form = (await harness.say("tara", "/concern")).cards[0]
    [picker] = [n for n in inputs(form) if n["id"] == "pupil"]
    assert [c["title"] for c in picker["choices"]] == ["Quinn Example"] and picker["isMultiSelect"]
    await harness.act("tara", "concern.submit", {**CONCERN, "pupil": "", "pupil_other": "robin example"})
    [c] = await harness.services.concerns.all()
    robin = await harness.services.consents.find("Robin Example")
    assert robin is not None and c.pupil_keys == [robin.pupil_key] and c.unlinked == "" and c.pupil == "Robin Example"
