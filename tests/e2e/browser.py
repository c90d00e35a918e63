"""Debian's Chromium driven by Playwright, and what every page of a journey must satisfy.

:class:`Journey` wraps one browser page. ``journey.check("nome")`` is called on every page a
person sees; it

* saves a full-page screenshot at phone size (360×800) and desktop size (1280×800) into
  ``artifacts/screenshots/<journey>/`` (``make screenshots`` regenerates them);
* runs axe-core (``static/vendor/axe/axe.min.js``) at both sizes with the WCAG 2.0, 2.1 and 2.2
  A/AA rules;
* checks ``<html lang="pt-BR">``, that every visible form control has a visible label, and that
  200 % text loses nothing: no horizontal scrolling at 640 CSS px (a 1280 px window at 200 %
  zoom) nor at 360 px with the root font size doubled (the browser's "very large text");
* measures, at 360 px, every interactive element a finger can press — links, buttons, fields,
  the label of each radio and checkbox (the design system draws the box over it), the ALTCHA
  box — which must be at least 44×44 CSS px (WCAG 2.5.5, the AAA size, for shaky hands), and
  every piece of visible text, which must be at least 16 px (``_TARGETS``).

Problems are collected, not raised at once, so one run shows every page's problems;
:meth:`Journey.finish` fails the test with all of them. Uncaught script errors and CSP refusals
in the browser console count as problems too.

The CSP has no ``'unsafe-inline'``: axe is injected with ``page.evaluate`` (which runs through the
DevTools protocol, outside the page's CSP) rather than a ``<script>`` tag, and the text-size
change is made through the CSSOM, which the CSP allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.summary_plugin import record
from tests.support.server import ROOT

CHROMIUM = "/usr/bin/chromium"
# DESIGN.md › Stack: Debian's Chromium, never a downloaded browser.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE = ROOT / "src" / "guarita" / "web" / "static" / "vendor" / "axe" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PHONE = {"width": 360, "height": 800}
DESKTOP = {"width": 1280, "height": 800}

_AXE_RUN = """(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations']})
  .then(r => r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.html.slice(0, 160))})))"""

# Form controls a person fills in or presses; each needs a label they can see.
_UNLABELLED = """() => {
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const found = [];
  for (const input of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button', 'reset', 'image'].includes(input.type)) continue;
    const box = input.closest(
      '.br-checkbox, .br-radio, .altcha-checkbox, .altcha-checkbox-wrap');
    if (!visible(input) && !(box && visible(box))) continue;
    const labels = Array.from(input.labels || []);
    if (!labels.some(visible)) found.push(input.outerHTML.slice(0, 160));
  }
  return found;
}"""

_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const over = [];
  if (document.documentElement.scrollWidth > width + 1) {
    over.push('página com rolagem horizontal: ' + document.documentElement.scrollWidth
              + ' > ' + width);
  }
  const shown = 'main label, main input, main button, main a, main p, main h1, main h2, '
              + 'main legend';
  for (const el of document.querySelectorAll(shown)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > width + 1 || r.left < -1) {
      over.push(el.tagName.toLowerCase() + ' fora da tela: '
                + (el.innerText || el.outerHTML).slice(0, 80));
    }
  }
  return over.slice(0, 10);
}"""


# Touch targets of at least 44×44 CSS px and text of at least 16 px, at phone size. The target of
# a radio or checkbox is its label: the input is invisible under the box the design system
# draws. Links in running text count with their padding (guarita.css gives them a 44 px box
# without changing the line height).
MIN_TARGET = 44
MIN_TEXT = 16
_TARGETS = """([minTarget, minText]) => {
  const shown = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none'
      && Number(s.opacity) > 0.01; };
  const name = (el) => (el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "'
    + (el.innerText || el.value || el.getAttribute('aria-label') || el.outerHTML)
        .trim().replace(/\\s+/g, ' ').slice(0, 50) + '"');
  const skipped = '.sr-only, .br-skiplink, script, style, noscript, template';
  const found = [];
  const seen = new Set();
  const pressable = 'a[href], button, input, select, textarea, summary, [role=button], '
    + '[tabindex]:not([tabindex="-1"])';
  for (const el of document.querySelectorAll(pressable)) {
    if (el.type === 'hidden' || el.closest(skipped) || el.matches('main[tabindex], [data-error-summary]')) continue;
    let target = el;
    if (el.matches('input[type=radio], input[type=checkbox]')) {
      target = (el.labels && el.labels[0]) || el.closest('label') || el.parentElement;
      const box = el.closest('.altcha-checkbox, .altcha');
      if (box) target = box.querySelector('label') || box;
    }
    if (seen.has(target)) continue;
    seen.add(target);
    if (!shown(target)) continue;
    const r = target.getBoundingClientRect();
    if (r.width < minTarget - 0.5 || r.height < minTarget - 0.5) {
      found.push('alvo pequeno (' + Math.round(r.width) + '×' + Math.round(r.height) + ' px): '
                 + name(target));
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const small = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest(skipped) || small.has(el)) continue;
    if (!shown(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < minText - 0.01) {
      small.add(el);
      found.push('texto pequeno (' + size.toFixed(1) + ' px): ' + name(el));
    }
  }
  return found.slice(0, 15);
}"""


def launch(playwright) -> Browser:  # noqa: ANN001
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@dataclass
class Journey:
    name: str
    page: Page
    problems: list[str] = field(default_factory=list)
    pages: int = 0
    folder: Path = field(init=False)

    def __post_init__(self) -> None:
        self.folder = SCREENSHOTS / self.name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.page.on("pageerror", lambda error: self.problems.append(f"erro de script: {error}"))
        self.page.on("console", self._console)

    def _console(self, message) -> None:  # noqa: ANN001
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
            self.problems.append(f"CSP recusou algo em {self.page.url}: {text[:300]}")

    # -- what every page must satisfy ----------------------------------------------------------
    def check(self, label: str, own: bool = True, desk: bool = False, lang: str = "pt-BR") -> None:
        """``own=False`` for pages that are not Guarita's (the demo portal): screenshots and axe
        only; the look of a relying party is its integrator's business. ``desk=True`` for the
        support desk, used at a desk: the 200 % zoom check at 640 px, not the phone one.
        ``lang``: the language the page was asked in (the language switch)."""
        page = self.page
        page.wait_for_load_state("load")
        self.pages += 1
        where = f"[{self.pages:02d}-{label}] {page.url}"
        shown_lang = page.evaluate("document.documentElement.lang")
        if own and shown_lang != lang:
            self.problems.append(f"{where}: <html lang> é {shown_lang!r}, não {lang!r}")
        size = page.viewport_size
        violations_here = 0
        slug = re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")
        for viewport in (PHONE, DESKTOP):
            page.set_viewport_size(viewport)
            page.evaluate("document.fonts.ready.then(() => true)")
            shot = self.folder / f"{self.pages:02d}-{slug}@{viewport['width']}.png"
            page.screenshot(path=str(shot), full_page=True)
            for violation in self.axe():
                violations_here += 1
                self.problems.append(
                    f"{where} @{viewport['width']}px axe {violation['id']} "
                    f"({violation['impact']}): {violation['help']} — "
                    + " | ".join(violation["nodes"][:3])
                )
        if own:
            for control in page.evaluate(_UNLABELLED):
                self.problems.append(f"{where}: campo sem rótulo visível: {control}")
            if not desk:
                page.set_viewport_size(PHONE)
                for problem in page.evaluate(_TARGETS, [MIN_TARGET, MIN_TEXT]):
                    self.problems.append(f"{where} @360px: {problem}")
            for problem in self.zoomed(slug, phone=not desk):
                self.problems.append(f"{where}: {problem}")
        page.set_viewport_size(size or PHONE)
        record(axe_pages=1, axe_violations=violations_here)

    def axe(self) -> list[dict]:
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text(encoding="utf-8"))
        return self.page.evaluate(_AXE_RUN, AXE_TAGS)

    def zoomed(self, slug: str, phone: bool = True) -> list[str]:
        """200 % zoom (WCAG 1.4.4 and 1.4.10): nothing scrolls sideways or leaves the screen.

        A page that fails gets a screenshot of the failing state, next to the others.
        """
        page = self.page
        found = []
        page.set_viewport_size({"width": 640, "height": 400})
        problems = page.evaluate(_OVERFLOW)
        if problems:
            page.screenshot(path=str(self.folder / f"{self.pages:02d}-{slug}@640-zoom200.png"),
                            full_page=True)
        found += [f"zoom 200 % (640 px): {p}" for p in problems]
        page.set_viewport_size(PHONE)
        if not phone:
            return found
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        problems = page.evaluate(_OVERFLOW)
        if problems:
            page.screenshot(path=str(self.folder / f"{self.pages:02d}-{slug}@360-texto200.png"),
                            full_page=True)
        found += [f"texto 200 % (360 px): {p}" for p in problems]
        page.evaluate("document.documentElement.style.fontSize = ''")
        return found

    def finish(self) -> None:
        assert not self.problems, f"{len(self.problems)} problemas na jornada {self.name}:\n" + \
            "\n".join(self.problems)


__all__ = ["AXE", "AXE_TAGS", "DESKTOP", "MIN_TARGET", "MIN_TEXT", "Journey", "PHONE", "launch"]
