"""A tiny HTML reader for page tests: elements with their attributes and text, no dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def __getitem__(self, name: str) -> str | None:
        return self.attrs[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.open: list[Element] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        element = Element(tag, dict(attrs))
        if self.open:
            self.open[-1].children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag):  # noqa: ANN001
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index].tag == tag:
                del self.open[index:]
                break

    def handle_data(self, data):  # noqa: ANN001
        for element in self.open:
            element.text += data


def parse(html: str) -> list[Element]:
    reader = _Reader()
    reader.feed(html)
    return reader.elements


def find_all(html: str | list[Element], tag: str | None = None, **attrs: str) -> list[Element]:
    """Elements by tag and exact attribute values (``class_`` matches one class)."""
    elements = parse(html) if isinstance(html, str) else html
    found = []
    for element in elements:
        if tag and element.tag != tag:
            continue
        ok = True
        for name, value in attrs.items():
            if name == "class_":
                ok = ok and value in element.classes
            else:
                ok = ok and element.attrs.get(name.replace("_", "-")) == value
        if ok:
            found.append(element)
    return found


def find(html: str | list[Element], tag: str | None = None, **attrs: str) -> Element:
    found = find_all(html, tag, **attrs)
    assert len(found) == 1, f"expected one <{tag or '*'} {attrs}>, found {len(found)}"
    return found[0]


def squash(text: str) -> str:
    return " ".join(text.split())
