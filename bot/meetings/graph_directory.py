"""GraphDirectory: Entra group membership for roles, through Graph ``transitiveMembers`` (object ids only).

Needs the application permission ``GroupMember.Read.All``. Only user object ids are read
(``$select=id``); nested groups count (transitive). Implements :class:`bot.roles.Directory`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlparse

import httpx
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphServiceClient
from msgraph.generated.groups.item.transitive_members.transitive_members_request_builder import (
    TransitiveMembersRequestBuilder,
)
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User

from bot.errors import GraphError
from bot.meetings.graph import SCOPES, graph_client

log = logging.getLogger(__name__)
MAX_PAGES = 50  # 50 pages of 100: far more staff than any school has


class GraphDirectory:
    def __init__(self, client: GraphServiceClient, close: Callable[[], Awaitable[None]] | None = None) -> None:
        self._graph = client
        self._close = close

    @classmethod
    def with_credential(cls, base_url: str, credential: object, *, timeout: float = 15.0) -> GraphDirectory:
        """Any azure-identity (async) token credential: managed identity, client secret, certificate, or a test's."""
        host = urlparse(base_url).hostname or "graph.microsoft.com"
        auth = AzureIdentityAuthenticationProvider(credential, scopes=SCOPES, allowed_hosts=[host])
        return cls(*graph_client(base_url, auth, timeout=timeout, retry_delay=1.0, max_retries=2))

    @classmethod
    def from_environment(cls, base_url: str, env: Mapping[str, str] | None = None) -> GraphDirectory:
        """The same Graph credential as the meetings (bot.meetings.graph.graph_credential): a managed
        identity, a certificate or a secret, failing closed on anything missing."""
        from bot.meetings.graph import graph_credential

        credential = graph_credential(dict(os.environ if env is None else env))
        return cls.with_credential(base_url, credential)

    async def close(self) -> None:
        if self._close is not None:
            await self._close()

    async def transitive_members(self, group_id: str) -> frozenset[str]:
        query = TransitiveMembersRequestBuilder.TransitiveMembersRequestBuilderGetQueryParameters(
            select=["id"], top=100
        )
        builder = self._graph.groups.by_group_id(group_id).transitive_members
        members: set[str] = set()
        try:
            page = await builder.get(request_configuration=RequestConfiguration(query_parameters=query))
            for _ in range(MAX_PAGES):
                if page is None:
                    break
                members |= {o.id for o in page.value or [] if isinstance(o, User) and o.id}
                if not page.odata_next_link:
                    break
                page = await builder.with_url(page.odata_next_link).get()
        except ODataError as exc:
            status = exc.response_status_code or 0
            log.warning("graph group members failed group=%s status=%s", group_id, status)
            raise GraphError(
                "groups_forbidden" if status == 403 else "unreachable", status=status, retryable=status in (429, 503)
            ) from exc
        except httpx.HTTPError as exc:
            log.warning("graph group members unreachable group=%s error=%s", group_id, type(exc).__name__)
            raise GraphError("unreachable", retryable=True) from exc
        return frozenset(members)
