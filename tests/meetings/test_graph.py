"""GraphMeetings through the real msgraph-sdk against a loopback Graph that validates every body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import GraphError
from bot.meetings.graph import GraphMeetings
from bot.meetings.provider import Invitee, MeetingRequest, open_meeting
from tests.fakes.graph_server import FakeGraph
from tests.support.meetings import request

PROFILES = ["000-two-staff", "001-recorded", "002-lobby-two-staff", "003-crossways", "004-tces"]


@pytest.mark.parametrize("profile", PROFILES)
async def test_each_profile_gets_its_settings(graph: FakeGraph, meetings: GraphMeetings, profile: str) -> None:
    req = request(profile)
    meeting = await open_meeting(meetings, req)
    live = graph.meeting_for(req.booking_id)
    for name, value in req.settings.items():
        assert live[name] == value, name
    patch = next(c for c in graph.calls if c.method == "PATCH")
    assert set(k for k in patch.body if not k.startswith("@")) == set(req.settings)  # exactly the profile's fields
    assert meeting.join_url == live["joinWebUrl"] and not meeting.local and meeting.options_url


async def test_invitations_go_to_parents_second_adult_and_slt(graph: FakeGraph, meetings: GraphMeetings) -> None:
    await open_meeting(meetings, request())
    [event] = graph.events.values()
    people = {(a["emailAddress"]["address"], a["type"]) for a in event["attendees"]}
    assert people == {
        ("parent.pip@example.com", "required"),
        ("parent.quinn@example.com", "required"),
        ("sam.senior@example.org", "required"),
        ("hana.head@example.org", "optional"),
    }
    assert (
        event["isOnlineMeeting"] is True
        and event["onlineMeetingProvider"] == "teamsForBusiness"
        and event["transactionId"] == "S-ABC234"
    )
    assert (
        "other children will also be present" in event["body"]["content"]
        and "Wednesday 25 November 2026, 10:00" in event["body"]["content"]
    )
    assert event["start"] == {"dateTime": "2026-11-25T10:00:00", "timeZone": "UTC"}


async def test_chat_for_learning_is_limited(graph: FakeGraph, meetings: GraphMeetings) -> None:
    req = request("004-tces", chat=True)
    await meetings.create(req)  # the three steps in one call
    assert graph.meeting_for(req.booking_id)["allowMeetingChat"] == "limited"


async def test_cancel(graph: FakeGraph, meetings: GraphMeetings) -> None:
    meeting = await open_meeting(meetings, request())
    await meetings.cancel(meeting, organiser_id="aad-tara", comment="Cancelled by the school.")
    [event] = graph.events.values()
    assert event["isCancelled"] and event["cancelComment"] == "Cancelled by the school."


async def test_verify_repairs_drift(graph: FakeGraph, meetings: GraphMeetings) -> None:
    meeting = await open_meeting(meetings, request())
    assert await meetings.verify(meeting, organiser_id="aad-tara") == []
    graph.change_setting("S-ABC234", "allowMeetingChat", "enabled")
    graph.change_setting("S-ABC234", "lobbyBypassSettings", {"scope": "everyone", "isDialInBypassEnabled": True})
    drift = await meetings.verify(meeting, organiser_id="aad-tara")
    assert {d.field for d in drift} == {"allowMeetingChat", "lobbyBypassSettings"}
    live = graph.meeting_for("S-ABC234")
    assert live["allowMeetingChat"] == "disabled" and live["lobbyBypassSettings"] == {
        "scope": "organizer",
        "isDialInBypassEnabled": False,
    }
    repair = [c for c in graph.calls if c.method == "PATCH"][-1]
    assert set(k for k in repair.body if not k.startswith("@")) == {"allowMeetingChat", "lobbyBypassSettings"}


async def test_attendance_report(graph: FakeGraph, meetings: GraphMeetings) -> None:
    meeting = await open_meeting(meetings, request())
    assert await meetings.attendance(meeting, organiser_id="aad-tara") is None  # not ready until the meeting ends
    graph.reports[meeting.meeting_id] = [
        {
            "emailAddress": "tara.teacher@example.org",
            "role": "Organizer",
            "identity": {"displayName": "Tara Teacher"},
            "totalAttendanceInSeconds": 2700,
            "attendanceIntervals": [
                {
                    "joinDateTime": "2026-11-25T09:58:00Z",
                    "leaveDateTime": "2026-11-25T10:45:00Z",
                    "durationInSeconds": 2820,
                }
            ],
        },
        {
            "emailAddress": "parent.pip@example.com",
            "role": "Attendee",
            "identity": {"displayName": "Pat Example"},
            "totalAttendanceInSeconds": 2400,
            "attendanceIntervals": [
                {
                    "joinDateTime": "2026-11-25T10:01:00Z",
                    "leaveDateTime": "2026-11-25T10:41:00Z",
                    "durationInSeconds": 2400,
                }
            ],
        },
    ]
    people = await meetings.attendance(meeting, organiser_id="aad-tara")
    assert people is not None and [p.email for p in people] == ["tara.teacher@example.org", "parent.pip@example.com"]
    assert people[1].intervals[0].join == datetime(2026, 11, 25, 10, 1, tzinfo=UTC)


async def test_429_with_retry_after_is_retried_by_the_sdk(graph: FakeGraph, meetings: GraphMeetings) -> None:
    graph.fail("429", times=2, on="/events")
    await open_meeting(meetings, request())
    assert len(graph.events) == 1 and len(graph.meetings) == 1
    assert [c.status for c in graph.calls if c.method == "POST"] == [429, 429, 201]


async def test_503_is_retried(graph: FakeGraph, meetings: GraphMeetings) -> None:
    graph.fail("503", times=1, on="/onlineMeetings")
    await open_meeting(meetings, request())
    assert len(graph.events) == 1 and len(graph.meetings) == 1


async def test_timeout_then_retry_makes_one_event(graph: FakeGraph, meetings: GraphMeetings) -> None:
    graph.slow_seconds = 2.0
    graph.fail("slow", times=1, on="/events")
    with pytest.raises(GraphError) as err:
        await open_meeting(meetings, request())
    assert err.value.retryable
    await open_meeting(meetings, request())  # what the booking workflow does next
    assert len(graph.events) == 1 and len(graph.meetings) == 1


async def test_server_dies_after_creating_the_event(graph: FakeGraph, meetings: GraphMeetings) -> None:
    graph.fail("die_after_create", times=1, on="/events")
    with pytest.raises(GraphError) as err:
        await open_meeting(meetings, request())
    assert err.value.retryable and len(graph.events) == 1
    meeting = await open_meeting(meetings, request())
    assert len(graph.events) == 1 and len(graph.meetings) == 1
    assert meeting.join_url == graph.meeting_for("S-ABC234")["joinWebUrl"]


async def test_403_access_policy_says_what_the_admin_must_do(graph: FakeGraph, meetings: GraphMeetings) -> None:
    graph.fail("403", times=1)
    with pytest.raises(GraphError) as err:
        await open_meeting(meetings, request())
    assert err.value.status == 403 and not err.value.retryable and "infra/" in err.value.hint and err.value.request_id
    assert graph.events == {}


async def test_unknown_organiser_is_a_clear_error(graph: FakeGraph, meetings: GraphMeetings) -> None:
    req = request()
    req = MeetingRequest(**{**req.__dict__, "organiser_id": "aad-nobody"})
    with pytest.raises(GraphError) as err:
        await open_meeting(meetings, req)
    assert err.value.status == 404 and "organiser" in str(err.value)


def people(event: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return sorted((a["emailAddress"]["address"], a["type"]) for a in event["attendees"])


async def test_each_person_once_with_their_strongest_role(graph: FakeGraph, meetings: GraphMeetings) -> None:
    req = request()
    # the second adult is also SLT (copied), a parent is also on the SLT list, and the organiser copies herself
    req = MeetingRequest(
        **{
            **req.__dict__,
            "cc": (
                Invitee("Sam Senior", "Sam.Senior@example.org"),
                Invitee("Pat Example", "parent.pip@example.com"),
                Invitee("Tara Teacher", "tara.teacher@example.org"),
                Invitee("Hana Head", "hana.head@example.org"),
            ),
        }
    )
    await open_meeting(meetings, req)
    [event] = graph.events.values()
    assert people(event) == [
        ("hana.head@example.org", "optional"),
        ("parent.pip@example.com", "required"),
        ("parent.quinn@example.com", "required"),
        ("sam.senior@example.org", "required"),
    ]
    created = next(c for c in graph.calls if c.method == "POST").body
    assert "parent.pip@example.com" not in str(
        created
    )  # a parent who is also staff is invited as family: after the lock
    assert event["hideAttendees"] is True


async def test_one_family_need_not_hide_attendees(graph: FakeGraph, meetings: GraphMeetings) -> None:
    req = request()
    req = MeetingRequest(**{**req.__dict__, "attendees": req.attendees[:1]})
    await open_meeting(meetings, req)
    [event] = graph.events.values()
    assert event["hideAttendees"] is False and ("parent.pip@example.com", "required") in people(event)


async def test_a_parent_as_second_adult_is_invited_with_the_families(graph: FakeGraph, meetings: GraphMeetings) -> None:
    req = MeetingRequest(
        **{
            **request().__dict__,
            "second_adult": Invitee("Rae Example", "parent.robin@example.com"),
            "second_adult_is_family": True,
        }
    )
    meeting = await meetings.create_event(req)
    [event] = graph.events.values()
    assert people(event) == [("hana.head@example.org", "optional")]
    with pytest.raises(GraphError):
        await meetings.invite_families(meeting, req)  # not locked: refused before any request
    meeting = await meetings.invite_families(await meetings.lock(meeting, req), req)
    assert ("parent.robin@example.com", "required") in people(event) and meeting.families_invited


async def test_every_step_is_idempotent(graph: FakeGraph, meetings: GraphMeetings) -> None:
    req = request()
    first = await open_meeting(meetings, req)
    again = await open_meeting(meetings, req)
    assert again == first and len(graph.events) == 1 and len(graph.meetings) == 1
    invites = [c for c in graph.calls if c.method == "PATCH" and "/events/" in c.path]
    assert len(invites) == 1  # the second time the families were already there: nobody invited twice


async def test_a_read_back_that_differs_names_the_settings(graph: FakeGraph, meetings: GraphMeetings) -> None:
    graph.ignore_settings = {"allowMeetingChat"}
    req = request()
    meeting = await meetings.create_event(req)
    with pytest.raises(GraphError) as err:
        await meetings.lock(meeting, req)
    assert err.value.reason == "settings_differ" and err.value.fields == ("allowMeetingChat",)
    assert not any(c.method == "PATCH" and "/events/" in c.path for c in graph.calls)
