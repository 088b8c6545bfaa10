"""The table store's HTTP session: the proxy comes from the environment once, NO_PROXY respected."""

from __future__ import annotations

import pytest

from bot.store.azure_http import env_proxy


def test_https_proxy_with_credentials_and_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert env_proxy("https://acct.table.core.windows.net") == (None, None)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:s3cret@proxy.example.org:3128")
    assert env_proxy("https://acct.table.core.windows.net") == (
        "http://proxy.example.org:3128",
        {"Proxy-Authorization": "Basic dXNlcjpzM2NyZXQ="},
    )
    assert env_proxy("http://127.0.0.1:10002/devstoreaccount1") == (None, None)  # HTTPS_PROXY is for https only
    monkeypatch.setenv("NO_PROXY", "localhost,.core.windows.net")
    assert env_proxy("https://acct.table.core.windows.net") == (None, None)
