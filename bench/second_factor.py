"""Second-step verifications per CPU-second: the authenticator app (RFC 6238) and passkeys
(WebAuthn §7.2, ES256), next to argon2id verifications per CPU-second measured in the same run.

Runs in-process and counts this process's CPU time (``time.process_time``), at three depths:

- **the check alone**: ``totp.matching_step`` (three HMAC-SHA1 candidates, ±1 step) and
  py_webauthn's ``verify_authentication_response`` (one ES256 signature);
- **the method** of the port: ``TotpMethod.verify`` (AES-GCM unseal + the check) and
  ``PasskeyMethod.verify`` (JSON parsing, the check, the new sign count), with the credential
  held in memory so that only the method's own work is counted;
- **the service** on SQLite: ``second_step.verify`` of a pending sign-in, with the attempt
  protocol, the credential's compare-and-set, the flow's transition, the new session and its
  audit rows (the pending sign-ins are made beforehand, outside the measure).

    .venv/bin/python bench/second_factor.py [--seconds 3] [--service 200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from webauthn import verify_authentication_response

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.captcha import solve  # noqa: E402
from tests.two_step.soft_authenticator import SoftAuthenticator  # noqa: E402

from guarita.domain.accounts import PrincipalKind  # noqa: E402
from guarita.domain.hashing import Hasher  # noqa: E402
from guarita.methods import passkey, totp  # noqa: E402
from guarita.methods.base import Principal, StoredCredential  # noqa: E402
from guarita.storage.tables import Flow  # noqa: E402

MASTER = b"bench-secret-key-that-is-long-enough-for-hmac-0123456789"
BASE = "http://localhost:8000"


def per_cpu_second(work, seconds: float) -> float:  # noqa: ANN001
    count, started = 0, time.process_time()
    while (spent := time.process_time() - started) < seconds:
        work()
        count += 1
    return count / spent


async def per_cpu_second_async(work, seconds: float) -> float:  # noqa: ANN001
    count, started = 0, time.process_time()
    while (spent := time.process_time() - started) < seconds:
        await work()
        count += 1
    return count / spent


class Memory:
    """A credential port in memory: every update wins (the bench measures the method)."""

    def __init__(self, credential: StoredCredential) -> None:
        self.credential = credential

    async def get(self, type_: str) -> StoredCredential:
        return self.credential

    async def advance(self, credential: StoredCredential, counter: int) -> bool:
        return True

    async def replace_data(self, credential: StoredCredential, data: Any) -> bool:
        self.credential = StoredCredential(
            type=credential.type, data=dict(data), counter=(credential.counter or 0) + 1
        )
        return True


class Context:
    def __init__(self, principal: Principal, credentials: Memory) -> None:
        self.principal = principal
        self.credentials = credentials
        self.now = datetime.now(UTC)
        self.settings = type("S", (), {"base_url": BASE})()

    def secret(self) -> bytes:
        return MASTER


def totp_rows(seconds: float) -> list[tuple[str, float]]:
    secret = totp.new_secret()
    code = totp.code_at_step(secret, totp.step_at(datetime.now(UTC)))
    principal = Principal(kind=PrincipalKind.ACCOUNT, id="a" * 32)
    sealed = totp.seal(MASTER, secret, bound_to=totp.binding(principal))
    ctx = Context(
        principal, Memory(StoredCredential(type="totp", data={"sealed": sealed}, counter=None))
    )
    check = per_cpu_second(lambda: totp.matching_step(secret, code), seconds)
    method = asyncio.run(
        per_cpu_second_async(lambda: totp.METHOD.verify(ctx, None, {"code": code}), seconds)
    )
    return [
        ("TOTP: the check (3 × HMAC-SHA1)", check),
        ("TOTP: the method (unseal + check)", method),
    ]


def passkey_rows(seconds: float) -> list[tuple[str, float]]:
    device = SoftAuthenticator(origin=BASE, rp_id="localhost")
    challenge = passkey.new_challenge()
    principal = Principal(kind=PrincipalKind.ACCOUNT, id="b" * 32)
    creation = passkey.registration_options(
        base_url=BASE,
        rp_name="Bench",
        principal=principal,
        user_name="bench",
        display_name="Bench",
        challenge=challenge,
        existing=[],
    )
    key = passkey.verify_registration(
        credential=device.create(creation),
        challenge=challenge,
        base_url=BASE,
        name="bench",
        now=datetime.now(UTC),
    )
    options = passkey.authentication_options(base_url=BASE, challenge=challenge)
    # Assertions made beforehand, each one count higher: only verification is measured.
    assertions = [device.get(options) for _ in range(20000)]
    public_key = passkey.unb64url(key["public_key"])
    expected = passkey.unb64url(challenge)
    index = {"n": 0}

    def check() -> None:
        i = index["n"]
        index["n"] += 1
        verify_authentication_response(
            credential=assertions[i],
            expected_challenge=expected,
            expected_rp_id="localhost",
            expected_origin=BASE,
            credential_public_key=public_key,
            credential_current_sign_count=i,
            require_user_verification=True,
        )

    checked = per_cpu_second(check, seconds)
    ctx = Context(
        principal, Memory(StoredCredential(type="passkeys", data={"keys": [key]}, counter=0))
    )
    holder = Flow(data={"challenge": challenge})
    start = index["n"]
    ctx.credentials.credential.data["keys"][0]["sign_count"] = start
    index["n"] = start

    async def method() -> None:
        i = index["n"]
        index["n"] += 1
        outcome = await passkey.METHOD.verify(ctx, holder, {"credential": assertions[i]})
        assert outcome.ok, outcome

    verified = asyncio.run(per_cpu_second_async(method, seconds))
    return [
        ("Passkey: the check (ES256, py_webauthn)", checked),
        ("Passkey: the method (parse + check + count)", verified),
    ]


async def service_row(count: int) -> tuple[str, float]:
    """The whole second step on SQLite: pending sign-ins prepared first, then verified."""
    from tests.support.factories import STRONG, add_beneficiary

    from guarita.config import Environment, PasswordPolicy, Settings
    from guarita.runtime import Runtime
    from guarita.services import second_factors, second_step
    from guarita.services.login import sign_in
    from guarita.services.registration import RegistrationInput, register
    from guarita.storage.audit import RequestContext
    from guarita.storage.migrate import upgrade_async

    folder = tempfile.mkdtemp(prefix="bench-2fa-")
    url = f"sqlite+aiosqlite:///{folder}/bench.db"
    await upgrade_async(url)
    settings = Settings(
        env=Environment.TEST,
        database_url=url,
        secret_key=MASTER.decode(),
        base_url=BASE,
        run_worker_in_server=False,
        password=PasswordPolicy(failure_floor_ms=0),
    )
    runtime = Runtime.build(settings)
    ctx = RequestContext(ip=None, user_agent="bench")
    try:
        people = []
        for n in range(count):
            b = await add_beneficiary(
                runtime, card=f"9{n:08d}", seed=10_000 + n, phone=None, email=None
            )
            done = await register(
                runtime,
                RegistrationInput(
                    b.card_number, b.cpf, False, b.birth_date.isoformat(), STRONG, STRONG,
                    captcha=solve(runtime.settings),
                ),
                ctx,
            )
            enrolment = await second_factors.start_totp(runtime, done.session, ctx)
            secret = enrolment.secret.replace(" ", "")
            await second_factors.confirm_totp(
                runtime,
                done.session,
                enrolment.enrolment_id,
                totp.code_at_step(secret, totp.step_at(datetime.now(UTC))),
                ctx,
            )
            pending = (await sign_in(runtime, b.card_number, STRONG, ctx)).pending
            people.append((pending.pending_id, secret))
        started = time.process_time()
        for pending_id, secret in people:
            code = totp.code_at_step(secret, totp.step_at(datetime.now(UTC)) + 1)
            await second_step.verify(runtime, pending_id, "totp", {"code": code}, ctx)
        spent = time.process_time() - started
    finally:
        await runtime.close()
    return ("TOTP: the service (SQLite, session + audit)", count / spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--service", type=int, default=200, help="pending sign-ins to verify")
    args = parser.parse_args()
    hasher = Hasher(max_workers=1)
    stored = hasher.hash_sync("referência")
    argon2 = per_cpu_second(lambda: hasher.verify_sync(stored, "referência"), args.seconds)
    rows = [*totp_rows(args.seconds), *passkey_rows(args.seconds)]
    if args.service:
        rows.append(asyncio.run(service_row(args.service)))
    table = Table(title="Second-step verifications per CPU-second (one core, in-process)")
    table.add_column("what is verified")
    table.add_column("per CPU-second", justify="right")
    table.add_column("× argon2id", justify="right")
    for label, rate in rows:
        table.add_row(label, f"{rate:,.0f}", f"{rate / argon2:,.1f}")
    table.add_row("reference: argon2id (m=19456 KiB, t=2, p=1)", f"{argon2:,.1f}", "1.0")
    Console().print(table)


if __name__ == "__main__":
    main()
