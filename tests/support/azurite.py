"""Azurite (Microsoft's Azure Storage emulator, npm, installed by scripts/bootstrap) on a loopback
port for the Azure Table store's tests and the benches. If Azurite is missing the fixture fails: CI installs it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-table"
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
MISSING = "Azurite is not installed: run scripts/bootstrap (needs node and npm)."


def installed() -> bool:
    return AZURITE.exists() and shutil.which("node") is not None


def connection_string(port: int) -> str:
    """The development account's connection string for Azurite's table service on ``port`` (plain HTTP)."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(work: Path, *options: str) -> Iterator[int]:
    """A fresh in-memory Azurite table service (with extra command-line ``options``) on a free loopback
    port, working in ``work``; yields the port once it listens, and stops it on exit."""
    if not installed():
        raise RuntimeError(MISSING)
    port = _free_port()
    command = [str(AZURITE), "--tableHost", "127.0.0.1", "--tablePort", str(port), "--inMemoryPersistence"]
    command += ["--skipApiVersionCheck", "--disableTelemetry", "--silent", *options]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=work)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Azurite did not start") from None
                time.sleep(0.1)  # polling another process's readiness
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A connection string to a fresh in-memory Azurite table service."""
    if not installed():
        pytest.fail(MISSING)
    with running(tmp_path_factory.mktemp("azurite")) as port:
        yield connection_string(port)
