"""Submitting the HTML forms the way a browser does: cookies kept, CSRF token from the page."""

from __future__ import annotations

import re

import httpx

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def submit(client: httpx.AsyncClient, page: str, data: dict, action: str | None = None) -> httpx.Response:
    form_page = await client.get(page)
    assert form_page.status_code == 200, (page, form_page.status_code)
    return await client.post(action or page, data={**data, "csrf_token": csrf_of(form_page.text)})
