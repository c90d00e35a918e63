"""A whole Guarita as people meet it, for the browser journeys: a real ``guarita serve``
subprocess on 127.0.0.1 with a migrated SQLite file, the demo registry (``guarita demo``) plus a
few people of our own (``guarita import-beneficiaries``), the outbox worker running inside the
server, e-mail to a loopback aiosmtpd and SMS to the log adapter (codes read from
``/dev/outbox.json``), and the real ALTCHA at a low cost so the widget solves fast.

Nothing here talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import json
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from tests.support.captcha import solve_remote
from tests.support.factories import STRONG, make_cpf
from tests.support.server import GUARITA, ROOT, server_env

CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@dataclass(frozen=True)
class Person:
    card: str
    cpf: str | None
    birth: date
    name: str
    email: str | None = None
    phone: str | None = None  # as typed in the registry: "(61) 99123-4501"
    legacy_hash: str | None = None

    @property
    def birth_br(self) -> str:
        return self.birth.strftime("%d/%m/%Y")

    @property
    def cpf_dotted(self) -> str:
        c = self.cpf or ""
        return f"{c[:3]}.{c[3:6]}.{c[6:9]}-{c[9:]}"

    @property
    def phone_e164(self) -> str:
        return "+55" + re.sub(r"\D", "", self.phone or "")


def _ours(card: str, seed: int, name: str, email: str | None, phone: str | None,
          birth: date = date(1951, 7, 9)) -> Person:
    return Person(card, make_cpf(seed), birth, name, email, phone)


# One person per journey, so journeys never depend on each other's order.
OURS = {
    "lockout": _ours("310000001", 7001, "Cícero Romão Batista", "cicero.batista@example.com",
                     "(61) 99300-0001"),
    "password": _ours("310000002", 7002, "Francisca Chagas Moura", "francisca.moura@example.com",
                      None),
    "kba": _ours("310000003", 7003, "Geralda Aparecida Nunes", "geralda.nunes@example.com",
                 "(61) 99300-0003"),
    "keyboard_login": _ours("310000004", 7004, "Joaquim Nabuco Teles", "joaquim.teles@example.com",
                            None),
    "keyboard_recovery": _ours("310000005", 7005, "Helena Batista Prado",
                               "helena.prado@example.com", None),
    "sms": _ours("310000006", 7006, "Osvaldo Cruz Pimenta", None, "(61) 99300-0006"),
    "errors": _ours("310000007", 7007, "Irene Farias Dutra", "irene.dutra@example.com", None),
    "devices": _ours("310000008", 7008, "Francisca Xavier Lopes", "francisca.lopes@example.com",
                     None),
    "english": _ours("310000009", 7009, "Joaquim Barbosa Neto", "joaquim.neto@example.com", None),
    "outbox": _ours("310000010", 7010, "Helena Souza Campos", "helena.campos@example.com", None),
    "privacy": _ours("310000011", 7011, "Lúcia Helena Tavares", "lucia.tavares@example.com", None),
}


def _demo() -> dict[str, Person]:
    from guarita.services.demo import demo_people

    found = {}
    for p in demo_people():
        found[p.card_number] = Person(p.card_number, p.cpf, p.birth_date, p.name, p.email, p.phone,
                                      p.legacy_password_hash)
    return found


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]
    directory: Path
    smtp_port: int
    demo: dict[str, Person]
    ours: dict[str, Person]

    # -- the command line, as an operator runs it -------------------------------------------
    def cli(self, *args: str) -> dict:
        done = subprocess.run([str(GUARITA), *args, "--json"], env=self.env, cwd=self.directory,  # noqa: S603
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        return json.loads(done.stdout)

    # -- the app's API, to set up what a journey assumes --------------------------------------
    def register(self, person: Person, password: str = STRONG) -> None:
        answer = httpx.post(self.base_url + "/api/v1/registrations", json={
            "card_number": person.card, "cpf": person.cpf, "birth_date": person.birth.isoformat(),
            "password": password, "password_confirmation": password,
            "captcha": solve_remote(self.base_url),
        }, timeout=30)
        assert answer.status_code == 201, answer.text

    # -- the dev outbox, where people's codes can be read -------------------------------------
    def messages(self, to: str) -> list[dict]:
        answer = httpx.get(self.base_url + "/dev/outbox.json", params={"to": to}, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def last_message_id(self, to: str) -> int:
        found = self.messages(to)
        return max((m["id"] for m in found), default=0)

    def code_for(self, to: str, after: int = 0, timeout: float = 20.0) -> str:
        """The code of the newest message to ``to`` written after message id ``after``, once
        the worker marked it sent (so the journey also proves delivery)."""
        deadline = time.monotonic() + timeout
        seen: list[dict] = []
        while time.monotonic() < deadline:
            seen = [m for m in self.messages(to) if m["id"] > after]
            for message in seen:  # newest first
                match = CODE.search(message.get("text") or "")
                if match and message["status"] == "sent":
                    return match.group(1)
            time.sleep(0.2)
        raise AssertionError(f"nenhum código enviado para {to}: {seen}")


def write_registry(path: Path, people: list[Person]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["card_number", "cpf", "birth_date", "name", "email", "phone",
                         "legacy_password_hash"])
        for p in people:
            writer.writerow([p.card, p.cpf or "", p.birth.isoformat(), p.name, p.email or "",
                             p.phone or "", p.legacy_hash or ""])


def stack_env(database_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    values = dict(
        GUARITA_RUN_WORKER_IN_SERVER="true",
        GUARITA_SMTP__HOST="127.0.0.1",
        GUARITA_SMTP__PORT=str(smtp_port),
        GUARITA_SMS__ADAPTER="log",
        GUARITA_CAPTCHA="altcha",
        GUARITA_CAPTCHA_COST="1000",
        GUARITA_OUTBOX__POLL_SECONDS="0.2",
        # Every journey comes from 127.0.0.1, like a whole agency behind one address: the
        # per-IP limits are raised; the per-account lockout keeps its defaults.
        GUARITA_RATE_LIMITS__LOGIN="1000/300",
        GUARITA_RATE_LIMITS__REGISTRATION="1000/300",
        GUARITA_RATE_LIMITS__RECOVERY="1000/300",
        GUARITA_RATE_LIMITS__CODE="1000/300",
    )
    return server_env(database_url, **{**values, **extra})


def prepare(directory: Path, database_url: str, env: dict[str, str], *, via_cli: bool = True,
            demo: bool = True) -> None:
    """Migrates, loads the demo and our people. ``via_cli``: the way an operator would (three
    ``guarita`` commands); otherwise the same services in this process, which saves the three
    interpreter start-ups for the suites that only need the data (races, crash, fuzz)."""
    registry = directory / "jornadas.csv"
    write_registry(registry, list(OURS.values()))
    if not via_cli:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own
            report = pool.submit(asyncio.run, _prepare_here(directory, database_url, demo)).result()
        assert report.created == len(OURS) and report.rejected == 0, report
        return
    for args in (["migrate"], ["demo", "--json"]) if demo else (["migrate"],):
        done = subprocess.run([str(GUARITA), *args], env=env, cwd=directory,  # noqa: S603
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (args, done.stderr[-2000:])
    done = subprocess.run(  # noqa: S603
        [str(GUARITA), "import-beneficiaries", str(registry), "--json"], env=env, cwd=directory,
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["created"] == len(OURS) and report["rejected"] == 0, report


async def _prepare_here(directory: Path, database_url: str, demo: bool):  # noqa: ANN202
    from guarita.runtime import Runtime
    from guarita.services.demo import load_demo
    from guarita.services.registry_import import import_beneficiaries
    from guarita.storage.migrate import upgrade_async
    from tests.conftest import make_settings

    await upgrade_async(database_url)
    runtime = Runtime.build(make_settings(database_url))
    try:
        if demo:
            await load_demo(runtime, directory=directory)
        return await import_beneficiaries(runtime, directory / "jornadas.csv")
    finally:
        await runtime.close()


__all__ = ["OURS", "Person", "ROOT", "Stack", "prepare", "stack_env", "_demo"]
