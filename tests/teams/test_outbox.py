"""Side effects through the outbox, over HTTP with the real transport and a loopback Bot Connector.

The channel refuses posts for a while, the bot restarts in between, the channel recovers: every
session's register card and request card appears once and shows the session's state, and while
posts were failing the teacher's card said so and SLT was told. A submission sent twice (the same
activity, or a double click) makes one record. `/healthz` shows the backlog.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from bot.cli import main
from bot.sessions import cards as views
from bot.sessions.model import State
from tests.support.bot import Bot, restarted, set_up_channels
from tests.support.forms import CONCERN, FORM
from tests.support.outbox import settle
from tests.support.people import NOW
from tests.support.schemas import card_text
from tests.teams import activities as act
from tests.teams.connector import FakeConnector, Sent


def _latest(connector: FakeConnector, activity_id: str) -> dict[str, Any]:
    return [s for s in connector.sent if s.activity_id == activity_id and s.card is not None][-1].card  # type: ignore[return-value]


def _shown(card: dict[str, Any]) -> list[str]:
    return sorted(part for line in card_text(card).splitlines() for part in line.split("; "))


def _token(card: Sent) -> str:
    return str(next(a["data"]["token"] for a in (card.card or {})["actions"] if a.get("data", {}).get("token")))


async def _book(bot: Bot, connector: FakeConnector, **form: Any) -> Sent:
    """/book, then submit the form as Teams does (with the card's hidden token)."""
    await bot.post(act.message("/book", service_url=connector.url))
    card = connector.posts("a:personal-29:tara")[-1]
    status, _ = await bot.post(
        act.submit(
            {"verb": "book.submit", **FORM, **form, "token": _token(card)},
            reply_to=card.activity_id,
            service_url=connector.url,
        )
    )
    assert status == 200
    return card


async def test_cards_appear_after_the_channel_refused_posts_and_a_restart(
    tmp_path: Path, connector: FakeConnector, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first, runner = await restarted(tmp_path, background=False)
    from bot.consent import ConsentRegistry, parse_csv
    from tests.support.forms import CSV

    await ConsentRegistry(first.services.store).import_records(parse_csv(CSV))
    await set_up_channels(first, connector)
    connector.refuse_channels = True
    forms = [await _book(first, connector, time=t) for t in ("10:00", "11:00", "12:00")]
    await settle(first.services)
    sessions = sorted(await first.services.sessions.all(), key=lambda s: s.booking.start)
    assert all(s.register_card is None for s in sessions)
    # the teacher cancels one while nothing reaches the channel
    await first.post(
        act.submit(
            {"verb": "session.cancel", "ref": sessions[2].ref, "confirmed": "yes"},
            reply_to=forms[2].activity_id,
            service_url=connector.url,
        )
    )
    for minutes in (1, 2, 4):  # the retries come due and keep failing
        await settle(first.services, at=NOW + timedelta(minutes=minutes))
    told = card_text(_latest(connector, forms[0].activity_id))
    assert texts.UNDELIVERED_TO_TEACHER in told  # the teacher's card says so: never silence
    monkeypatch.setenv("CHAPERONE_DATA_DIR", str(tmp_path / "data"))
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["outbox", "list"]) == 0
    listing = capsys.readouterr().out
    assert "post_register" in listing and "failing: ExternalServiceError" in listing and "oldest failing: S-" in listing
    await first.session.close()
    await runner.cleanup()

    second, runner = await restarted(tmp_path, background=True)  # a restart, still refusing
    try:
        await second.services.tasks.drain()
        assert connector.refused > 0 and connector.channel_posts(act.SAFEGUARDING) == []
        connector.refuse_channels = False  # the channel recovers
        await settle(second.services, at=NOW + timedelta(minutes=15))
        tz, profile = second.services.timezone, second.services.profile
        for s in await second.services.sessions.all():
            registers = [
                p
                for p in connector.channel_posts(act.SAFEGUARDING)
                if card_text(p.card or {}).startswith(f"Register · {s.ref}")
            ]
            assert len(registers) == 1 and s.register_card is not None, s.ref
            assert _shown(_latest(connector, s.register_card.activity_id)) == _shown(
                views.register_card(s, profile, tz)
            )
            if s.state is State.AWAITING_SECOND_ADULT:
                assert s.request_card is not None
                assert _shown(_latest(connector, s.request_card.activity_id)) == _shown(views.request_card(s, tz))
            assert not s.undelivered
        cancelled = next(s for s in await second.services.sessions.all() if s.state is State.CANCELLED)
        assert "Cancelled" in card_text(_latest(connector, cancelled.register_card.activity_id))  # type: ignore[union-attr]
        assert texts.UNDELIVERED_TO_TEACHER not in card_text(
            _latest(connector, forms[0].activity_id)
        )  # the warning goes
        slt = [card_text(p.card or {}) for p in connector.channel_posts(act.SLT)]
        assert any(texts.UNDELIVERED_TITLE in t for t in slt)  # and SLT was told
        async with second.session.get(f"{second.url}/healthz") as r:
            assert (await r.json())["outbox"]["due"] == 0
    finally:
        await second.session.close()
        await runner.cleanup()


async def test_the_same_concern_twice_is_one_record_and_one_alert(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    await bot.post(act.message("/concern", service_url=connector.url))
    form = connector.posts("a:personal-29:tara")[-1]
    token = _token(form)
    activity = act.submit(
        {"verb": "concern.submit", **CONCERN, "token": token}, reply_to=form.activity_id, service_url=connector.url
    )
    other = act.submit(
        {"verb": "concern.submit", **CONCERN, "token": token}, reply_to=form.activity_id, service_url=connector.url
    )
    await asyncio.gather(bot.post(activity), bot.post(other))  # a double click: two activities from one form at once
    await bot.post(activity)  # and Teams delivers one of them again
    await bot.services.tasks.drain()
    [c] = await bot.services.concerns.all()
    alerts = [p for p in connector.channel_posts(act.SAFEGUARDING) if c.ref in card_text(p.card or {})]
    assert len(alerts) == 1


async def test_a_booking_submitted_twice_is_one_session(bot: Bot, connector: FakeConnector) -> None:
    await set_up_channels(bot, connector)
    card = await _book(bot, connector)
    await bot.post(
        act.submit(
            {"verb": "book.submit", **FORM, "token": _token(card)}, reply_to=card.activity_id, service_url=connector.url
        )
    )  # a double click
    await bot.services.tasks.drain()
    assert len(await bot.services.sessions.all()) == 1
    assert len([p for p in connector.channel_posts(act.SAFEGUARDING) if "Register" in card_text(p.card or {})]) == 1


async def test_records_from_before_the_outbox_are_adopted_atrestarted(tmp_path: Path, connector: FakeConnector) -> None:
    first, runner = await restarted(tmp_path, background=False)
    from bot.consent import ConsentRegistry, parse_csv
    from tests.support.forms import CSV

    await ConsentRegistry(first.services.store).import_records(parse_csv(CSV))
    await set_up_channels(first, connector)
    connector.refuse_channels = True
    await _book(first, connector)
    await first.services.tasks.drain()
    [s] = await first.services.sessions.all()
    rec = await first.services.store.get("sessions", s.ref)
    legacy = {
        k: v for k, v in rec.doc.items() if k not in ("jobs", "applied", "origin", "pending", "job_seq", "undelivered")
    }
    await first.services.store.replace("sessions", s.ref, legacy, etag=rec.etag)  # as an older version stored it
    await first.session.close()
    await runner.cleanup()
    connector.refuse_channels = False

    second, runner = await restarted(tmp_path, background=True)
    try:
        await second.services.tasks.drain()
        [s] = await second.services.sessions.all()
        assert s.register_card is not None and s.request_card is not None
        assert {j.kind for j in s.undone()} == {"remind", "give_up", "meeting_check"}
    finally:
        await second.session.close()
        await runner.cleanup()
