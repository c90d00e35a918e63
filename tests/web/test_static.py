"""Assets are served from /static, offline: our own files always, the vendor ones once set up."""

from __future__ import annotations

import pytest

from guarita.app import STATIC

OURS = {
    "/static/css/guarita.css": "text/css",
    "/static/js/guarita.js": "javascript",
    "/static/img/logo.svg": "image/svg+xml",
}
VENDOR = {
    "/static/vendor/govbr-ds/core.min.css": "text/css",
    "/static/vendor/raleway/raleway.css": "text/css",
    "/static/vendor/raleway/files/raleway-latin-400-normal.woff2": "font/woff2",
    "/static/vendor/raleway/files/raleway-latin-700-normal.woff2": "font/woff2",
    "/static/vendor/fontawesome/css/all.min.css": "text/css",
    "/static/vendor/fontawesome/webfonts/fa-solid-900.woff2": "font/woff2",
}


async def test_our_static_files_are_served(client):
    for path, kind in OURS.items():
        response = await client.get(path)
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"], (path, response.headers["content-type"])
        assert response.headers.get("cache-control") != "no-store"


async def test_vendor_files_the_pages_use_are_served(client):
    if not (STATIC / "vendor" / "govbr-ds" / "core.min.css").exists():
        pytest.skip("static/vendor is not set up: run scripts/setup-frontend.sh (or make setup)")
    for path, kind in VENDOR.items():
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(kind), path


async def test_every_asset_the_home_page_links_exists(client):
    import re

    html = (await client.get("/")).text
    for path in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        if path.startswith("/static/vendor/") and not (STATIC / "vendor").exists():
            continue
        assert (await client.get(path)).status_code == 200, path


def test_raleway_and_font_awesome_files_referenced_by_their_css_exist():
    vendor = STATIC / "vendor"
    if not (vendor / "raleway" / "raleway.css").exists():
        pytest.skip("static/vendor is not set up: run scripts/setup-frontend.sh (or make setup)")
    import re

    for css in (vendor / "raleway" / "raleway.css", vendor / "fontawesome" / "css" / "all.min.css"):
        for url in re.findall(r"url\(([^)]+)\)", css.read_text()):
            relative = url.strip("'\"").split("#")[0].split("?")[0]
            if relative.endswith((".woff2", ".woff")):
                assert (css.parent / relative).resolve().exists(), (css.name, relative)
