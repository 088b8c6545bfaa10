"""The package stands alone: its built wheel, installed into a fresh virtual environment outside the
checkout, serves a rendered /book card (templates, profiles and the example config are package data).

The fresh environment gets the wheel itself; its third-party dependencies are the ones already
installed for the tests, reached by a plain path line (which, unlike ``site.addsitedir``, does not run
the development environment's editable-install hook), so ``import bot`` can only find the wheel's copy.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import aiohttp

from tests.support.serve import serve
from tests.teams import activities as act
from tests.teams.connector import FakeConnector

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _build_and_install(tmp: Path) -> Path:
    """Build the wheel from the checkout and install it into a new venv; returns that venv's python."""
    source, dist = tmp / "source", tmp / "dist"  # a copy, so no stale build/ folder of the checkout leaks in
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(dist),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    [wheel] = dist.glob("chaperone-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (purelib / "zz-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--target",
            str(purelib),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return python


async def test_the_built_wheel_serves_a_book_card(tmp_path: Path) -> None:
    python = await asyncio.to_thread(_build_and_install, tmp_path)
    where = subprocess.run(
        [str(python), "-c", "import bot, bot.render; print(bot.__file__)"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert str(tmp_path / "venv") in where and str(ROOT) not in where

    connector = FakeConnector()
    runner, url = await serve(connector.app())
    connector.url = url
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICROSOFT_APP", "CHAPERONE_"))}
    env.update(
        {
            "PORT": str(port),
            "CHAPERONE_LOCAL": "1",
            "MICROSOFT_APP_ID": "",
            "CHAPERONE_DATA_DIR": str(tmp_path / "data"),
            "CHAPERONE_MEETINGS": "local",
        }
    )
    proc = await asyncio.create_subprocess_exec(
        str(python),
        "-m",
        "bot",
        "serve",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("chaperone serve from the wheel did not answer /healthz")
            async with http.post(
                f"http://127.0.0.1:{port}/api/messages", json=act.message("/book", service_url=url)
            ) as r:
                assert r.status in (200, 201, 202), await r.text()
        [sent] = connector.posts("a:personal-29:tara")
        assert sent.card is not None and any(i.get("id") == "date" for i in _inputs(sent.card))
    finally:
        proc.terminate()
        _, err = await proc.communicate()
        await runner.cleanup()
    assert b"Traceback" not in err, err.decode()


def _inputs(card: dict[str, object]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Input."):
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(card)
    return found
