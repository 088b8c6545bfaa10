"""A fixed-token credential for tests that stand in for azure-identity (Graph directory look-ups)."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken


class StaticToken:
    """An async token credential, as azure-identity's are, handing out one fixed token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> StaticToken:
        return self

    async def __aexit__(self, *args: Any) -> None:
        pass
