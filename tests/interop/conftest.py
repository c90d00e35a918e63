"""A real Guarita on 127.0.0.1 for the interop tests: uvicorn on a free port, a fresh migrated
SQLite database, one registered beneficiary, and clients registered through the CLI.

Nothing here talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import TEST_SECRET, make_settings
from tests.support.captcha import solve
from tests.support.factories import STRONG
from tests.support.ports import free_port  # noqa: F401 - re-exported for the tests

ROOT = Path(__file__).resolve().parents[2]
GUARITA = ROOT / ".venv" / "bin" / "guarita"
CARD = "300400500"
TOTP_CARD = "300400501"  # a second person, who enrols the authenticator app (test_openid_client)


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"o servidor saiu com código {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} não respondeu em {timeout} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    identifier: str = CARD
    password: str = STRONG
    clients: dict[str, dict] = field(default_factory=dict)

    def cli(self, *args: str) -> dict:
        out = subprocess.run(
            [str(GUARITA), *args, "--json"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return json.loads(out.stdout)


async def _prepare(url: str) -> None:
    from guarita.runtime import Runtime
    from guarita.services.registration import RegistrationInput, register
    from guarita.storage.audit import RequestContext
    from guarita.storage.migrate import upgrade_async
    from tests.support.factories import add_beneficiary

    await upgrade_async(url)
    runtime = Runtime.build(make_settings(url))
    try:
        b = await add_beneficiary(
            runtime, card=CARD, name="Joana Darc Ferreira", email="joana@example.com"
        )
        await register(
            runtime,
            RegistrationInput(
                b.card_number, b.cpf, False, b.birth_date.isoformat(), STRONG, STRONG,
                captcha=solve(runtime.settings),
            ),
            RequestContext(ip="127.0.0.1"),
        )
        second = await add_beneficiary(runtime, card=TOTP_CARD, seed=77, name="Tereza Lima Souza",
                                       email="tereza@example.com", phone=None)
        await register(
            runtime,
            RegistrationInput(second.card_number, second.cpf, False,
                              second.birth_date.isoformat(), STRONG, STRONG,
                              captcha=solve(runtime.settings)),
            RequestContext(ip="127.0.0.1"),
        )
    finally:
        await runtime.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> LiveServer:  # noqa: ANN001
    directory = tmp_path_factory.mktemp("interop")
    url = f"sqlite+aiosqlite:///{directory / 'guarita.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "GUARITA_ENV": "test",
        "GUARITA_DATABASE_URL": url,
        "GUARITA_BASE_URL": base,
        "GUARITA_SECRET_KEY": TEST_SECRET,
        "GUARITA_RUN_WORKER_IN_SERVER": "false",
        "GUARITA_PORT": str(port),
        "GUARITA_LOG_LEVEL": "WARNING",
    }
    # A loop of its own: the suite's event loop may already run in this thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _prepare(url)).result()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "guarita.app:serve_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=open(directory / "server.log", "w"),  # noqa: SIM115
    )
    try:
        # 120 s as tests/support/server.py: a shared two-core machine under load boots slowly.
        wait_until_up(base + "/healthz", process, timeout=120)
        yield LiveServer(base, env)
    finally:
        stop(process)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def browse_sign_in(
    http: httpx.AsyncClient, start: str, server: LiveServer, leave_when: str
) -> httpx.Response:
    """A person in a browser: follows redirects by hand, fills Guarita's sign-in form, stops at
    the first redirect to ``leave_when`` (the client's redirect URI) and returns it."""
    response = await http.get(start)
    for _ in range(12):
        if response.status_code not in (301, 302, 303, 307):
            if "/entrar" in str(response.url) and 'name="password"' in response.text:
                form = {
                    "identifier": server.identifier,
                    "password": server.password,
                    "csrf_token": CSRF.search(response.text).group(1),
                    "next": re.search(r'name="next" value="([^"]*)"', response.text)
                    .group(1)
                    .replace("&amp;", "&"),
                }
                response = await http.post(server.base_url + "/entrar", data=form)
                continue
            raise AssertionError(
                f"parou em {response.url}: {response.status_code} {response.text[:300]}"
            )
        location = response.headers["location"]
        target = location if urlsplit(location).scheme else str(response.url.join(location))
        if target.startswith(leave_when):
            return response
        response = await http.get(target)
    raise AssertionError("redirecionamentos demais")
