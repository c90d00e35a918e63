"""The console pages as HTML: unique ids, labelled controls, no inline style or script, and the
support API in the OpenAPI document."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.console.helpers import caller_data, person, post, quick_staff, session_client


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.labels: set[str] = set()
        self.controls: list[tuple[str, str | None]] = []
        self.styles = 0
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201
        values = dict(attrs)
        if "id" in values:
            self.ids.append(values["id"])
        if "style" in values:
            self.styles += 1
        if tag == "label" and values.get("for"):
            self.labels.add(values["for"])
        if tag in ("input", "select", "textarea") and values.get("type") not in (
            "hidden",
            "submit",
        ):
            self.controls.append((values.get("name"), values.get("id")))
        if tag == "script":
            self.scripts.append(values)


def collect(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


async def test_person_page_with_every_action_is_well_formed(app, runtime):
    b = await person(runtime)
    admin = await quick_staff(runtime, "admin")
    async with await session_client(app, runtime, admin) as browser:
        masked = await browser.get(f"/atendimento/pessoas/{b.id}")
        opened = await post(browser, f"/atendimento/pessoas/{b.id}/conferencia", caller_data(b))
        pages = [masked, opened]
        for path in (
            "/atendimento",
            "/atendimento/painel",
            "/atendimento/equipe",
            "/atendimento/tokens",
            f"/atendimento?q={b.cpf}&reason=contato",
        ):
            pages.append(await browser.get(path))
    for page in pages:
        assert page.status_code == 200, page.url
        found = collect(page.text)
        duplicates = {i for i in found.ids if found.ids.count(i) > 1}
        assert not duplicates, (page.url, duplicates)
        unlabelled = [c for c in found.controls if c[1] not in found.labels]
        assert not unlabelled, (page.url, unlabelled)
        assert found.styles == 0, page.url
        assert all("src" in s for s in found.scripts), page.url  # no inline script
    # Every action form of an admin is on the opened page, each with its reason.
    for action in (
        "carteirinha",
        "contatos",
        "desbloqueio",
        "recuperacao",
        "senha",
        "situacao",
        "documento",
        "rosto",  # the reference photo (the delete form shows only once there is one)
    ):
        assert f'action="/atendimento/pessoas/{b.id}/{action}"' in opened.text, action
    assert opened.text.count('name="reason"') == 8


async def test_openapi_describes_the_support_api(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert "/api/v1/support/people" in paths
    check = paths["/api/v1/support/people/{person_id}/caller-checks"]["post"]
    assert check["x-required-scope"] == "caller_check"
    assert not any(p.startswith("/atendimento") for p in paths)
