"""Fixtures of the browser journeys: one live Guarita for the whole run, one Chromium, and a
fresh browser context (no cookies) per journey."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.browser import PHONE, Journey, launch
from tests.e2e.stack import OURS, Stack, _demo, prepare, stack_env
from tests.support.server import running_server
from tests.support.smtp import SmtpTestServer


@pytest.fixture(scope="session")
def stack(tmp_path_factory):  # noqa: ANN201
    directory = tmp_path_factory.mktemp("e2e")
    url = f"sqlite+aiosqlite:///{directory / 'guarita.db'}"
    with SmtpTestServer() as smtp:
        env = stack_env(url, smtp.port)
        prepare(directory, url, env)
        with running_server(env) as (base, _process):
            yield Stack(base, {**env, "GUARITA_BASE_URL": base}, directory, smtp.port, _demo(),
                        dict(OURS))


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    # Module scope, not session: while Playwright's sync API is alive, asyncio believes a loop
    # runs in this thread, and the async tests of later modules could not start theirs.
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def journey(browser, request):  # noqa: ANN001, ANN201
    """A new person at a phone-sized window; the name of the test names the screenshot folder."""
    context = browser.new_context(viewport=PHONE, locale="pt-BR", timezone_id="America/Sao_Paulo")
    context.set_default_timeout(20_000)
    page = context.new_page()
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name.removeprefix("test_")).strip("-")
    yield Journey(name, page)
    context.close()
