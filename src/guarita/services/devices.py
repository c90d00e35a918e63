"""What a person recognises of a session: the device in plain words, and near which city.

The browser string is read by ``ua-parser`` (the maintained Python port of the Browserscope /
uap-core rules, shipped with its rules as ``ua-parser-builtins``; no network). The words are
kept as parts — the kind of device, its brand, the system, the browser — so that the page puts
them in a sentence of its own language ("Celular Samsung · Chrome", "Computador com Windows").
Brand and product names stay as they are in every language.

The place is optional: with ``GUARITA_SESSION__GEOIP_CITY_DATABASE`` naming a local
MaxMind-format city database (GeoLite2-City or GeoIP2-City, obtained and kept up to date by the
organisation; Guarita downloads nothing), a public IP address becomes "Campinas (SP)". Without
it, or for a private address, there is no place. The IP address itself is never shown here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger("guarita.devices")

# The organisation's own app and programs that are not a browser (docs/security.md).
APP_MARKERS = ("okhttp", "python-httpx", "python-requests", "guarita-app", "dart:io", "cfnetwork")

_BROWSERS = {
    "Chrome Mobile": "Chrome", "Chrome Mobile iOS": "Chrome", "Chrome Mobile WebView": "Chrome",
    "HeadlessChrome": "Chrome", "Mobile Safari": "Safari", "Mobile Safari UI/WKWebView": "Safari",
    "Firefox Mobile": "Firefox", "Firefox iOS": "Firefox", "Edge Mobile": "Edge",
    "Samsung Internet": "Samsung Internet", "Opera Mobile": "Opera",
}
_SYSTEMS = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS", "Ubuntu": "Linux", "Fedora": "Linux"}


@dataclass(frozen=True)
class Device:
    """``kind``: phone | tablet | computer | app | None (unknown)."""

    kind: str | None
    brand: str | None  # "Samsung", "Motorola"; for Apple the product: "iPhone", "iPad", "Mac"
    system: str | None  # "Android", "iOS", "Windows", "macOS", "Linux", "ChromeOS"
    browser: str | None  # "Chrome", "Safari", "Firefox", "Edge", "Samsung Internet"

    @property
    def known(self) -> bool:
        return any((self.kind, self.brand, self.system, self.browser))


UNKNOWN = Device(None, None, None, None)


@lru_cache(maxsize=2048)
def device_of(user_agent: str | None) -> Device:
    """The parts of a browser string (cached: the same few strings come back all day)."""
    if not user_agent:
        return UNKNOWN
    lowered = user_agent.lower()
    if any(marker in lowered for marker in APP_MARKERS):
        return Device("app", None, None, None)
    from ua_parser import parse

    found = parse(user_agent[:512])
    family = found.user_agent.family if found.user_agent else None
    system = found.os.family if found.os else None
    system = _SYSTEMS.get(system or "", system)
    if system in ("Other", None):
        system = None
    browser = _BROWSERS.get(family or "", family)
    if browser in ("Other", None):
        browser = None
    brand = found.device.brand if found.device else None
    model = (found.device.family if found.device else None) or ""
    if brand and (brand.startswith("Generic") or brand == "Spider"):
        brand = None
    if brand == "Apple":
        brand = next((p for p in ("iPhone", "iPad", "Mac") if model.startswith(p)), None)
    kind = _kind(system, brand, lowered)
    if kind is None and browser is None:
        return UNKNOWN
    return Device(kind, brand, system, browser)


def _kind(system: str | None, brand: str | None, lowered: str) -> str | None:
    if brand == "iPad" or (system == "Android" and "mobile" not in lowered):
        return "tablet"
    if system in ("Android", "iOS") or brand == "iPhone":
        return "phone"
    if system in ("Windows", "macOS", "Linux", "ChromeOS"):
        return "computer"
    return None


def plain(device: Device) -> str | None:
    """One short pt-BR line, as Minha conta words it: "celular Samsung (Chrome)", "iPhone
    (Safari)", "computador com Windows (Firefox)", "aplicativo"; None when nothing is known."""
    if device.kind == "app":
        return "aplicativo"
    if device.brand in ("iPhone", "iPad", "Mac"):
        name = device.brand
    elif device.kind == "computer":
        name = f"computador com {device.system}" if device.system else "computador"
    elif device.kind in ("phone", "tablet"):
        word = "celular" if device.kind == "phone" else "tablet"
        name = f"{word} {device.brand or device.system or ''}".strip()
    else:
        name = device.system
    if name and device.browser:
        return f"{name} ({device.browser})"
    return name or device.browser


# -- place: a local city database, if the organisation configured one ---------------------------
_READERS: dict[str, Any] = {}


def _reader(path: str) -> Any | None:
    if path in _READERS:
        return _READERS[path]
    reader = None
    try:
        import maxminddb

        reader = maxminddb.open_database(str(Path(path)))
    except (OSError, ValueError) as exc:
        log.warning("geoip_database_unreadable", path=path, error=exc.__class__.__name__)
    _READERS[path] = reader
    return reader


def place_of(database: str | None, ip: str | None) -> str | None:
    """"Campinas (SP)" in Brazil, "Lisboa, Portugal" elsewhere; None without a database, for a
    private or unknown address, or when the database does not know the city."""
    if not database or not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if not address.is_global:
        return None
    reader = _reader(database)
    if reader is None:
        return None
    try:
        record = reader.get(str(address))
    except (ValueError, OSError):
        return None
    if not isinstance(record, dict):
        return None
    city = _name(record.get("city"))
    if not city:
        return None
    country = record.get("country") or {}
    if country.get("iso_code") == "BR":
        region = next((s.get("iso_code") for s in record.get("subdivisions") or [] if s), None)
        return f"{city} ({region})" if region else city
    country_name = _name(country)
    return f"{city}, {country_name}" if country_name else city


def _name(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return None
    names = entry.get("names") or {}
    return names.get("pt-BR") or names.get("en")
