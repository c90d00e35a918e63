"""A real SMTP server on loopback for tests (aiosmtpd), and a TCP server that never answers.

    with SmtpTestServer() as smtp:                  # 127.0.0.1, a free port
        ... deliver to ("127.0.0.1", smtp.port) ...
        mail = smtp.wait_for(1)[0]                  # email.message.EmailMessage
        assert mail.message["Subject"] == "..."

Optional: ``port=`` (start on a port chosen before, e.g. to bring a "down" server up),
``starttls=`` an ``ssl.SSLContext`` (STARTTLS offered and required), ``implicit_tls=`` (TLS from
the first byte), ``credentials=("user", "password")`` (AUTH required), ``refuse={"a@b"}``
(those recipients get "550 mailbox does not exist"). :func:`self_signed`
makes a certificate for 127.0.0.1 and the client context that trusts it.

aiosmtpd's ``Controller`` runs the server on its own thread and event loop, so the code under
test talks to it over a real socket exactly as it would to a production relay.
"""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.ports import free_port  # noqa: F401 - re-exported for the tests


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    authenticated_as: str | None

    def part(self, content_type: str) -> str:
        """The decoded body part of that type (``text/plain`` or ``text/html``)."""
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return part.get_content()
        raise KeyError(content_type)


class _Handler:
    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if address in self.server.refuse:
            return "550 5.1.1 Mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        raw = envelope.original_content or envelope.content
        login = session.auth_data if isinstance(session.auth_data, str) else None
        parsed = email.message_from_bytes(raw, policy=policy.default)
        with self.server._lock:
            self.server.messages.append(
                ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw, login)
            )
        return "250 Message accepted for delivery"


class SmtpTestServer:
    def __init__(
        self,
        *,
        port: int | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
        refuse: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        self.host = "127.0.0.1"
        self.refuse = set(refuse)
        self.port = port or free_port()
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        kwargs: dict = {}
        if starttls is not None:
            kwargs.update(tls_context=starttls, require_starttls=True)
        if implicit_tls is not None:
            kwargs.update(ssl_context=implicit_tls)
        if credentials is not None:
            kwargs.update(auth_required=True, authenticator=self._authenticator(credentials))
            # Over implicit TLS aiosmtpd cannot tell the session is protected; allow it there.
            kwargs.update(auth_require_tls=implicit_tls is None)
        self._controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, server_hostname="localhost",
            ready_timeout=5.0, **kwargs,
        )

    @staticmethod
    def _authenticator(credentials: tuple[str, str]):  # noqa: ANN205
        user, password = credentials

        def check(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            # auth_data becomes session.auth_data: the login the handler records.
            login = auth_data.login.decode() if ok else None
            return AuthResult(success=ok, handled=False, auth_data=login)

        return check

    def start(self) -> SmtpTestServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """The messages once at least ``count`` arrived; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.01)
        raise AssertionError(f"esperava {count} mensagens, chegaram {len(self.messages)}")


class SilentTcpServer:
    """Accepts connections and never says a word: a hung SMTP server or HTTP provider."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.host, self.port = self._sock.getsockname()
        self.accepted = 0
        self._clients: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self._sock.settimeout(0.05)
        while not self._stopped.is_set():
            try:
                client, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            self._clients.append(client)  # kept open, never read from, never written to

    def __enter__(self) -> SilentTcpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)
        for client in self._clients:
            client.close()
        self._sock.close()


@dataclass(frozen=True)
class SelfSigned:
    server: ssl.SSLContext
    client: ssl.SSLContext


def self_signed() -> SelfSigned:
    """A certificate for ``127.0.0.1``/``localhost``, its server context and a client context
    that trusts exactly it (hostname checks stay on)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with tempfile.TemporaryDirectory() as directory:
        cert_file, key_file = Path(directory) / "cert.pem", Path(directory) / "key.pem"
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return SelfSigned(server=server, client=client)
