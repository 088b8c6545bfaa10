"""The fictional people of the test school, the fixed 'now', and actors as the transport would build them."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.chat import Actor, Where

#: Monday 23 November 2026, 08:00 in London (GMT).
NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)

PEOPLE = {
    "tara": ("Tara Teacher", "tara.teacher@example.org"),
    "oli": ("Oli Other", "oli.other@example.org"),
    "sam": ("Sam Senior", "sam.senior@example.org"),
    "dee": ("Dee Lead", "dee.lead@example.org"),
    "ivy": ("Ivy Admin", "ivy.admin@example.org"),
    "stranger": ("Sol Stranger", "sol@mail.example.com"),
    "sian": ("Sian Second", "sian.second@example.org"),
}


def actor(who: str, kind: str = "personal") -> Actor:
    name, email = PEOPLE[who]
    where = Where(
        kind,
        f"conv-{who}" if kind == "personal" else "team-1;messageid=1",
        tenant_id="00000000-0000-0000-0000-0000000000001",
        team_id="team-1" if kind == "channel" else None,
        channel_id="chan-1" if kind == "channel" else None,
    )  # type: ignore[arg-type]
    return Actor(user_id=f"29:{who}", aad_id=f"aad-{who}", name=name, email=email, upn=email, where=where)
