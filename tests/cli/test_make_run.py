"""``make run`` as a person runs it on a terminal: with only ``GUARITA_PORT`` set, every address
Guarita hands out names that port; a development SMTP server on loopback receives the e-mails;
Ctrl-C stops everything quietly (README › Quick start; docs/messaging.md)."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

from tests.support.captcha import solve_remote
from tests.support.server import ROOT, free_port


class Terminal:
    """``make run`` in a pseudo-terminal, read as it writes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes make, as a person types it
            os.chdir(ROOT)
            os.execvpe("make", ["make", "--no-print-directory", "run"], env)  # noqa: S606, S607
        self.out = b""

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.out += os.read(self.fd, 65536)
                except OSError:
                    return

    def wait_for(self, text: bytes, seconds: float) -> None:
        end = time.monotonic() + seconds
        while text not in self.out and time.monotonic() < end:
            self.read(0.5)
        assert text in self.out, self.text[-3000:]

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace").replace("\r\n", "\n")

    def close(self) -> int:
        self.read(10)
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


@pytest.fixture
def terminal(tmp_path: Path):  # noqa: ANN201
    port, smtp = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARITA_")}
    env.update(GUARITA_PORT=str(port), GUARITA_SMTP__PORT=str(smtp), GUARITA_VAR_DIR=str(tmp_path),
               GUARITA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/guarita.db",
               GUARITA_OUTBOX__POLL_SECONDS="0.2", TERM="dumb")
    term = Terminal(env)
    term.port = port
    term.folder = tmp_path
    yield term
    try:
        os.kill(term.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_make_run_with_only_a_port_delivers_mail_and_stops_quietly(terminal):
    from guarita.services.demo import demo_people

    base = f"http://127.0.0.1:{terminal.port}"
    terminal.wait_for(b"Para parar", 240)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            terminal.read(0.5)
    # The OpenID issuer is the address served, not port 8000.
    with urllib.request.urlopen(base + "/.well-known/openid-configuration") as answer:  # noqa: S310 - loopback
        assert json.load(answer)["issuer"] == base
    # A registration queues a welcome e-mail: the development SMTP server receives it.
    maria = next(p for p in demo_people() if p.email and not p.legacy_password_hash and p.cpf)
    created = httpx.post(base + "/api/v1/registrations", timeout=30, json={
        "card_number": maria.card_number, "cpf": maria.cpf,
        "birth_date": maria.birth_date.isoformat(),
        "password": "uma frase bem comprida para lembrar",
        "password_confirmation": "uma frase bem comprida para lembrar",
        "captcha": solve_remote(base)})
    assert created.status_code == 201, created.text
    terminal.wait_for(f"E-mail para {maria.email}".encode(), 30)
    saved = list((terminal.folder / "mail").glob("*.eml"))
    assert saved and base.encode() in b"".join(p.read_bytes() for p in saved)
    messages = httpx.get(base + "/dev/outbox.json", params={"to": maria.email}).json()
    assert messages and all(m["status"] == "sent" for m in messages), messages
    assert "Connection refused" not in terminal.text

    os.write(terminal.fd, b"\x03")  # Ctrl-C
    code = terminal.close()
    assert code == 0, terminal.text[-3000:]
    assert "Traceback" not in terminal.text and "make: ***" not in terminal.text
    assert terminal.text.rstrip().endswith("Guarita parou."), terminal.text[-500:]
