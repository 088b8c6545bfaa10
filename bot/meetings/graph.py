"""GraphMeetings: real Teams meetings through Microsoft Graph (msgraph-sdk), with the protocol's settings.

The flow (DESIGN.md), lock before invite, each step idempotent per booking:

1. ``create_event``: POST a calendar event in the organiser's calendar with a Teams meeting, the
   staff only (second adult required, SLT copied optional), ``transactionId`` = the booking id (a
   repeated POST returns the same event) and ``hideAttendees`` when more than one family will be
   on it; then find the event's onlineMeeting by its join URL.
2. ``lock``: PATCH the onlineMeeting with exactly the fields the profile sets, as a fresh object,
   and GET it back; unless every field reads back equal, raise (no family is invited).
3. ``invite_families``: GET the event's attendees and PATCH the event with staff and families, each
   person once with their strongest role (Exchange then sends the families' invitations).

Every msgraph, kiota and azure-identity import of the project lives in this module; ``_graph_error``
is the one place an ``ODataError`` becomes a :class:`bot.errors.GraphError`, and ``_token_error``
the one place a credential failure (Entra unreachable, a wrong secret, an expired certificate) does.
"""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError
from kiota_abstractions.authentication import AnonymousAuthenticationProvider, AuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.allowed_lobby_admitter_roles import AllowedLobbyAdmitterRoles
from msgraph.generated.models.attendee import Attendee as GraphAttendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.lobby_bypass_scope import LobbyBypassScope
from msgraph.generated.models.lobby_bypass_settings import LobbyBypassSettings
from msgraph.generated.models.meeting_chat_mode import MeetingChatMode
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.online_meeting import OnlineMeeting
from msgraph.generated.models.online_meeting_presenters import OnlineMeetingPresenters
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody
from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder
from msgraph.generated.users.item.online_meetings.online_meetings_request_builder import OnlineMeetingsRequestBuilder
from msgraph_core import GraphClientFactory

from bot.errors import ConfigError, GraphError
from bot.meetings.provider import (
    AttendanceInterval,
    Attendee,
    Drift,
    Invitation,
    Meeting,
    MeetingRequest,
    hides_attendees,
    invitations,
    open_meeting,
)
from bot.texts import meetings as meeting_texts
from bot.texts import setup as setup_texts

log = logging.getLogger(__name__)
T = TypeVar("T")
SCOPES = ["https://graph.microsoft.com/.default"]
RETRYABLE = {408, 429, 500, 502, 503, 504}


def graph_client(
    base_url: str,
    auth: AuthenticationProvider | None = None,
    *,
    timeout: float = 30.0,
    retry_delay: float = 3.0,
    max_retries: int = 3,
) -> tuple[GraphServiceClient, Callable[[], Awaitable[None]]]:
    """A GraphServiceClient with the SDK's middleware (retry honouring Retry-After) kept, and a
    function that closes its connections."""
    options = {RetryHandlerOption.get_key(): RetryHandlerOption(delay=retry_delay, max_retries=max_retries)}
    inner = httpx.AsyncHTTPTransport()
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=inner, timeout=httpx.Timeout(timeout)), options=options
    )
    adapter = GraphRequestAdapter(auth or AnonymousAuthenticationProvider(), client=http)
    adapter.base_url = base_url.rstrip("/")

    async def close() -> None:
        await http.aclose()
        await inner.aclose()  # the middleware wrapper does not close the transport it wraps

    return GraphServiceClient(request_adapter=adapter), close


def _camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_ENUMS: dict[str, Any] = {
    "allowedLobbyAdmitters": AllowedLobbyAdmitterRoles,
    "allowedPresenters": OnlineMeetingPresenters,
    "allowMeetingChat": MeetingChatMode,
}


def meeting_body(settings: dict[str, Any]) -> OnlineMeeting:
    """A fresh onlineMeeting carrying exactly the fields in ``settings`` (never a fetched object)."""
    body = OnlineMeeting()
    for name, value in settings.items():
        if name == "lobbyBypassSettings":
            body.lobby_bypass_settings = LobbyBypassSettings(
                scope=LobbyBypassScope(value["scope"]), is_dial_in_bypass_enabled=value.get("isDialInBypassEnabled")
            )
        elif name in _ENUMS:
            setattr(body, _camel_to_snake(name), _ENUMS[name](value))
        else:
            setattr(body, _camel_to_snake(name), value)
    return body


def settings_of(meeting: OnlineMeeting, names: list[str]) -> dict[str, Any]:
    """The named settings as Graph reports them, in Graph's JSON shape."""
    found: dict[str, Any] = {}
    for name in names:
        if name == "lobbyBypassSettings":
            lobby = meeting.lobby_bypass_settings
            found[name] = {
                "scope": lobby.scope.value if lobby and lobby.scope else None,
                "isDialInBypassEnabled": lobby.is_dial_in_bypass_enabled if lobby else None,
            }
        else:
            value = getattr(meeting, _camel_to_snake(name), None)
            found[name] = getattr(value, "value", value)
    return found


def invitation_html(request: MeetingRequest) -> str:
    """The invitation's body: the date and time, and what the protocol asks families to know."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(request.timezone)
    start, end = request.start.astimezone(tz), request.end.astimezone(tz)
    when = f"{start:%A %d %B %Y, %H:%M}–{end:%H:%M} ({html.escape(request.timezone)})"
    lines = [f"<p><b>{html.escape(request.subject)}</b></p>", f"<p>{meeting_texts.invitation_when(when)}</p>"]
    lines += [f"<p>{html.escape(note)}</p>" for note in request.notes]
    lines.append(f"<p>{meeting_texts.INVITATION_DO_NOT_FORWARD}</p>")
    return "\n".join(lines)


def _when(dt: datetime) -> DateTimeTimeZone:
    return DateTimeTimeZone(date_time=dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC")


def _people(invited: list[Invitation]) -> list[GraphAttendee]:
    kinds = {"required": AttendeeType.Required, "optional": AttendeeType.Optional}
    return [
        GraphAttendee(email_address=EmailAddress(address=i.invitee.email, name=i.invitee.name), type=kinds[i.role])
        for i in invited
    ]


class GraphMeetings:
    """MeetingProvider on Microsoft Graph. Idempotent per booking (event transactionId)."""

    def __init__(self, client: GraphServiceClient, close: Callable[[], Awaitable[None]] | None = None) -> None:
        self._graph = client
        self._close = close

    @classmethod
    def at(cls, base_url: str, auth: AuthenticationProvider | None = None, **options: Any) -> GraphMeetings:
        return cls(*graph_client(base_url, auth, **options))

    @classmethod
    def with_credential(cls, base_url: str, credential: AsyncTokenCredential, **options: Any) -> GraphMeetings:
        """Graph with tokens from an azure-identity credential, which ``close`` closes too (its own
        HTTP session: no "Unclosed client session" at shutdown)."""
        client, close_http = graph_client(
            base_url, AzureIdentityAuthenticationProvider(credential, scopes=SCOPES), **options
        )

        async def close() -> None:
            try:
                await close_http()
            finally:
                await credential.close()

        return cls(client, close)

    async def close(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            await close()

    @classmethod
    def from_environment(cls, base_url: str, env: dict[str, str] | None = None) -> GraphMeetings:
        """Graph with the credential :func:`graph_credential` chooses (never logged)."""
        credential = graph_credential(dict(os.environ if env is None else env))
        client, close_http = graph_client(base_url, AzureIdentityAuthenticationProvider(credential, scopes=SCOPES))

        async def close() -> None:
            await close_http()
            await credential.close()  # its own HTTP session (token requests)

        return cls(client, close)

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except ODataError as exc:
            raise _graph_error(what, exc) from exc
        except httpx.TimeoutException as exc:
            log.warning("graph %s timed out", what)
            raise GraphError("timeout", retryable=True) from exc
        except httpx.TransportError as exc:
            log.warning("graph %s failed: %s", what, type(exc).__name__)
            raise GraphError("unreachable", retryable=True) from exc
        except (ClientAuthenticationError, ServiceRequestError, ServiceResponseError) as exc:
            raise _token_error(what, exc) from exc
        except (GraphError, ConfigError):
            raise
        except Exception as exc:  # whatever the SDKs raise, the session must say it failed
            log.exception("graph %s failed unexpectedly: %s", what, type(exc).__name__)
            raise GraphError("unknown") from exc

    async def create_event(self, request: MeetingRequest) -> Meeting:
        """Step 1: the event with its Teams meeting and the staff only; then its onlineMeeting."""
        user = self._graph.users.by_user_id(request.organiser_id)
        staff = [i for i in invitations(request) if not i.family]
        event = Event(
            subject=request.subject,
            body=ItemBody(content_type=BodyType.Html, content=invitation_html(request)),
            start=_when(request.start),
            end=_when(request.end),
            attendees=_people(staff),
            hide_attendees=hides_attendees(request),
            is_online_meeting=True,
            online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
            allow_new_time_proposals=False,
            transaction_id=request.booking_id,
        )
        created = await self._call("create event", lambda: user.events.post(event))
        if created is None or not created.id:
            raise GraphError("no_event", retryable=True)
        join_url = created.online_meeting.join_url if created.online_meeting else None
        if not join_url:
            raise GraphError("no_meeting_yet", retryable=True)
        log.info("graph event ready booking=%s event=%s staff=%d", request.booking_id, created.id, len(staff))
        meeting = await self._find_meeting(request.organiser_id, join_url)
        return Meeting(
            booking_id=request.booking_id,
            join_url=join_url,
            event_id=created.id,
            meeting_id=meeting.id or "",
            settings=dict(request.settings),
            options_url=meeting.meeting_options_web_url,
            local=False,
            locked=False,
            families_invited=False,
        )

    async def create(self, request: MeetingRequest) -> Meeting:
        """The three steps in order, locked before invite (for the CLI and tests)."""
        return await open_meeting(self, request)

    async def lock(self, meeting: Meeting, request: MeetingRequest) -> Meeting:
        """Step 2: PATCH the protocol's settings, GET them back; locked only when they read back equal."""
        item = self._graph.users.by_user_id(request.organiser_id).online_meetings.by_online_meeting_id(
            meeting.meeting_id
        )
        try:
            await self._call("apply settings", lambda: item.patch(meeting_body(request.settings)))
        except GraphError as exc:
            raise _unapplied(exc, tuple(request.settings)) from exc
        current = await self._call("read back settings", lambda: item.get())
        if current is None:
            raise GraphError("meeting_unreadable", retryable=True, fields=tuple(request.settings))
        found = settings_of(current, list(request.settings))
        differ = tuple(name for name, want in request.settings.items() if found.get(name) != want)
        if differ:
            log.warning("graph settings did not read back booking=%s fields=%s", request.booking_id, ",".join(differ))
            raise GraphError("settings_differ", fields=differ)  # a policy overriding them: IT must act
        log.info("graph meeting locked booking=%s fields=%d", request.booking_id, len(request.settings))
        return meeting.model_copy(update={"settings": dict(request.settings), "locked": True})

    async def invite_families(self, meeting: Meeting, request: MeetingRequest) -> Meeting:
        """Step 3: add the families to a locked meeting's event; nobody already on it is invited again."""
        if not meeting.locked:
            raise GraphError("not_locked", fields=tuple(request.settings))
        item = self._graph.users.by_user_id(request.organiser_id).events.by_event_id(meeting.event_id)
        wanted = invitations(request)
        config = RequestConfiguration(
            query_parameters=EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
                select=["attendees", "hideAttendees"]
            )
        )
        current = await self._call("read attendees", lambda: item.get(request_configuration=config))
        on_event = {
            (a.email_address.address or "").casefold(): a.type
            for a in (current.attendees if current else None) or []
            if a.email_address
        }
        hide = hides_attendees(request)
        kinds = {"required": AttendeeType.Required, "optional": AttendeeType.Optional}
        complete = all(on_event.get(i.invitee.email.casefold()) == kinds[i.role] for i in wanted)
        if not complete or (hide and not (current and current.hide_attendees)):
            await self._call(
                "invite families", lambda: item.patch(Event(attendees=_people(wanted), hide_attendees=hide))
            )
        log.info(
            "graph families invited booking=%s families=%d hidden=%s",
            request.booking_id,
            sum(1 for i in wanted if i.family),
            hide,
        )
        return meeting.model_copy(update={"families_invited": True})

    async def _find_meeting(self, organiser_id: str, join_url: str) -> OnlineMeeting:
        escaped = join_url.replace("'", "''")
        config = RequestConfiguration(
            query_parameters=OnlineMeetingsRequestBuilder.OnlineMeetingsRequestBuilderGetQueryParameters(
                filter=f"JoinWebUrl eq '{escaped}'"
            )
        )
        found = await self._call(
            "find meeting",
            lambda: self._graph.users.by_user_id(organiser_id).online_meetings.get(request_configuration=config),
        )
        meetings = (found.value if found else None) or []
        if not meetings:
            raise GraphError("no_meeting_yet", retryable=True)
        return meetings[0]

    async def cancel(self, meeting: Meeting, *, organiser_id: str, comment: str) -> None:
        events = self._graph.users.by_user_id(organiser_id).events
        await self._call(
            "cancel event",
            lambda: events.by_event_id(meeting.event_id).cancel.post(CancelPostRequestBody(comment=comment)),
        )

    async def verify(self, meeting: Meeting, *, organiser_id: str, repair: bool = True) -> list[Drift]:
        item = self._graph.users.by_user_id(organiser_id).online_meetings.by_online_meeting_id(meeting.meeting_id)
        current = await self._call("read meeting", lambda: item.get())
        if current is None:
            raise GraphError("meeting_unreadable", retryable=True)
        found = settings_of(current, list(meeting.settings))
        drift = [
            Drift(name, want, found.get(name)) for name, want in meeting.settings.items() if found.get(name) != want
        ]
        if drift and repair:
            await self._call("repair settings", lambda: item.patch(meeting_body({d.field: d.expected for d in drift})))
        return drift

    async def attendance(self, meeting: Meeting, *, organiser_id: str) -> list[Attendee] | None:
        item = self._graph.users.by_user_id(organiser_id).online_meetings.by_online_meeting_id(meeting.meeting_id)
        try:
            reports = await self._call("attendance reports", lambda: item.attendance_reports.get())
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise
        listed = (reports.value if reports else None) or []
        if not listed:
            return None
        latest = max(listed, key=lambda r: r.meeting_end_date_time or datetime.min.replace(tzinfo=UTC))
        records = await self._call(
            "attendance records",
            lambda: item.attendance_reports.by_meeting_attendance_report_id(latest.id or "").attendance_records.get(),
        )
        out = []
        for r in (records.value if records else None) or []:
            intervals = tuple(
                AttendanceInterval(i.join_date_time, i.leave_date_time)
                for i in (r.attendance_intervals or [])
                if i.join_date_time and i.leave_date_time
            )
            name = r.identity.display_name if r.identity else None
            out.append(Attendee(name=name or "", email=r.email_address, role=r.role, intervals=intervals))
        return out


def graph_credential(env: dict[str, str]) -> AsyncTokenCredential:
    """The Graph credential CHAPERONE_GRAPH_CREDENTIAL names: ``managed-identity`` (the App
    Service's user-assigned identity, AZURE_CLIENT_ID: no secret anywhere), ``certificate`` or
    ``secret`` (a single-tenant app registration, for hosts without a managed identity). Unset:
    a certificate if a path is given, else a secret. Fails closed on anything missing."""
    from azure.identity.aio import CertificateCredential, ClientSecretCredential, ManagedIdentityCredential

    kind = env.get("CHAPERONE_GRAPH_CREDENTIAL", "").strip().lower()
    cert = env.get("CHAPERONE_GRAPH_CERTIFICATE_PATH", "")
    secret = env.get("CHAPERONE_GRAPH_CLIENT_SECRET") or env.get("MICROSOFT_APP_PASSWORD", "")
    kind = kind or ("certificate" if cert else "secret")
    if kind == "managed-identity":
        client_id = (
            env.get("AZURE_CLIENT_ID") or env.get("CHAPERONE_GRAPH_CLIENT_ID") or env.get("MICROSOFT_APP_ID", "")
        )
        if not client_id:
            raise ConfigError(setup_texts.GRAPH_IDENTITY_NEEDS_CLIENT)
        return ManagedIdentityCredential(client_id=client_id)
    if kind not in ("certificate", "secret"):
        raise ConfigError(setup_texts.graph_credential_setting(kind))
    tenant = env.get("CHAPERONE_GRAPH_TENANT_ID") or env.get("MICROSOFT_APP_TENANT_ID", "")
    client_id = env.get("CHAPERONE_GRAPH_CLIENT_ID") or env.get("MICROSOFT_APP_ID", "")
    if not tenant or not client_id or not (cert if kind == "certificate" else secret):
        raise ConfigError(setup_texts.GRAPH_NEEDS_CREDENTIAL)
    if kind == "certificate" and not os.access(cert, os.R_OK):  # at start-up, not at the first meeting
        raise ConfigError(setup_texts.graph_certificate_missing(cert))
    return (
        CertificateCredential(tenant, client_id, cert)
        if kind == "certificate"
        else ClientSecretCredential(tenant, client_id, secret)
    )


def _graph_error(what: str, exc: ODataError) -> GraphError:
    """The one place Graph's errors become Chaperone's (by status and error code, not by text)."""
    status = exc.response_status_code
    code = exc.error.code if exc.error else None
    request_id = None
    if exc.error and exc.error.inner_error:
        request_id = getattr(exc.error.inner_error, "request_id", None) or getattr(
            exc.error.inner_error, "client_request_id", None
        )
    headers = getattr(exc, "response_headers", None) or {}
    request_id = request_id or (headers.get("request-id") if hasattr(headers, "get") else None)
    log.warning("graph %s failed status=%s code=%s request_id=%s", what, status, code, request_id)
    if status == 403:
        return GraphError("forbidden", status=status, code=code, request_id=request_id)
    if status == 404:
        return GraphError("unknown_organiser", status=status, code=code, request_id=request_id)
    if status in RETRYABLE:
        return GraphError("busy", status=status, code=code, request_id=request_id, retryable=True)
    return GraphError("refused", status=status, code=code, request_id=request_id)


def _unapplied(exc: GraphError, fields: tuple[str, ...]) -> GraphError:
    """The same failure, saying which settings it left unapplied."""
    return GraphError(
        exc.reason, status=exc.status, code=exc.code, request_id=exc.request_id, retryable=exc.retryable, fields=fields
    )


#: Entra's AADSTS codes that say which setting is wrong (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
_AADSTS = {
    "7000215": "credential_rejected",  # invalid client secret
    "7000222": "credential_rejected",  # client secret expired
    "700027": "credential_rejected",  # certificate signature / expired or unknown certificate
    "700024": "credential_rejected",  # client assertion outside its valid time range
    "90002": "tenant_unknown",
    "900023": "tenant_unknown",
    "90023": "tenant_unknown",
    "700016": "app_unknown",
}


def _token_error(what: str, exc: Exception) -> GraphError:
    """The one place a failure to get a token becomes Chaperone's (by type and Entra's code, never
    logging the message, which may echo configuration)."""
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        log.error("graph %s: no token, Entra unreachable (%s)", what, type(exc).__name__)
        return GraphError("entra_unreachable")  # after azure-identity's own retries: IT are told at once
    text = str(getattr(exc, "message", "") or exc)
    match = re.search(r"AADSTS(\d+)", text)
    code = match.group(1) if match else None
    if type(exc).__name__ == "CredentialUnavailableError":
        reason = "credential_unavailable"
    elif code in _AADSTS:
        reason = _AADSTS[code]
    elif "invalid_client" in text or "unauthorized_client" in text:
        reason = "credential_rejected"
    elif getattr(exc, "response", None) is None and "connect" in text.lower():
        reason = "entra_unreachable"
    else:
        reason = "credential_rejected"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    log.error("graph %s: no token reason=%s aadsts=%s status=%s", what, reason, code, status)
    return GraphError(reason, status=status, code=f"AADSTS{code}" if code else None)
