"""The mixed load of ``make loadtest`` (locust): what a large organisation's identity provider
sees on a busy day, in these proportions (task weights, per 100 requests):

    userinfo 30 · refresh 10 · token (authorization_code) 8 · sign-in by card 18, by CPF 14,
    by e-mail 6 · wrong password 5 · recovery start 3 · registration 2

Every request comes "from" a random address (``X-Forwarded-For``, believed from loopback), as a
crowd of people would, so per-IP limits do not turn the load into 429s; wrong passwords go to
accounts of their own, whose lockout (401, then 429) is the intended answer. Apps sign a person
in once through the form (to get the browser session the code flow needs) and then ask codes,
exchange them, refresh and call userinfo.

``LOADTEST_SEED`` names the JSON of bench/loadtest/seed.py; ``LOADTEST_PROBE=1`` runs sign-ins
only, as fast as possible (the capacity probe); ``LOADTEST_RATE`` is each user's requests per
second in the mixed load.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import random
import re
import secrets
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from locust import HttpUser, constant, constant_throughput, task

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.factories import make_cpf  # noqa: E402

SEED = json.loads(open(os.environ["LOADTEST_SEED"]).read())  # noqa: PTH123, SIM115
PROBE = os.environ.get("LOADTEST_PROBE") == "1"
RATE = float(os.environ.get("LOADTEST_RATE", "1"))
ACCOUNTS = SEED["accounts"]
WRONG_POOL = min(500, ACCOUNTS // 10)  # the last accounts take the wrong passwords
FREE = itertools.count(SEED["free_from"])  # beneficiaries still without an account
BASIC = "Basic " + base64.b64encode(f"{SEED['client_id']}:{SEED['client_secret']}".encode()).decode()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

sys_random = random.SystemRandom()


def card(i: int) -> str:
    return f"6{i:08d}"


def cpf(i: int) -> str:  # as bench/loadtest/seed.py writes it
    return make_cpf(600_000 + i)


def some_ip() -> str:
    return f"10.{sys_random.randrange(256)}.{sys_random.randrange(256)}.{sys_random.randrange(1, 255)}"


class Person(HttpUser):
    wait_time = constant(0) if PROBE else constant_throughput(RATE)

    def on_start(self) -> None:
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.cookie_ready = False

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"X-Forwarded-For": some_ip(), **extra}

    def _sign_in(self, identifier: str, name: str, password: str | None = None,
                 expected: tuple[int, ...] = (201,)) -> None:
        with self.client.post("/api/v1/sessions", name=name, catch_response=True,
                              headers=self._headers(),
                              json={"identifier": identifier,
                                    "password": password or SEED["password"]}) as answer:
            if answer.status_code in expected:
                answer.success()
            else:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")

    def _regular(self) -> int:
        return sys_random.randrange(ACCOUNTS - WRONG_POOL)

    @task(18)
    def sign_in_card(self) -> None:
        self._sign_in(card(self._regular()), "sign-in: card")

    @task(0 if PROBE else 14)
    def sign_in_cpf(self) -> None:
        i = self._regular()
        self._sign_in(cpf(i), "sign-in: cpf")

    @task(0 if PROBE else 6)
    def sign_in_email(self) -> None:
        self._sign_in(f"jr{self._regular()}@exemplo.org", "sign-in: email")

    @task(0 if PROBE else 5)
    def wrong_password(self) -> None:
        i = ACCOUNTS - 1 - sys_random.randrange(WRONG_POOL)
        self._sign_in(card(i), "wrong password", password="não é a senha desta pessoa",  # noqa: S106
                      expected=(401, 429))

    @task(0 if PROBE else 2)
    def registration(self) -> None:
        i = next(FREE)
        with self.client.post("/api/v1/registrations", name="registration", catch_response=True,
                              headers=self._headers(), json={
                                  "card_number": card(i), "cpf": cpf(i),
                                  "birth_date": birth(i), "password": SEED["password"],
                                  "password_confirmation": SEED["password"]}) as answer:
            if answer.status_code == 201:
                answer.success()
            else:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")

    @task(0 if PROBE else 3)
    def recovery_start(self) -> None:
        with self.client.post("/api/v1/recoveries", name="recovery start", catch_response=True,
                              headers=self._headers(),
                              json={"identifier": card(self._regular())}) as answer:
            if answer.status_code == 201:
                answer.success()
            else:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")

    # -- an app: the code flow, refresh, userinfo ------------------------------------------
    def _browser_session(self) -> None:
        page = self.client.get("/entrar", name="sign-in page (form)", headers=self._headers())
        found = CSRF.search(page.text)
        self.client.post("/entrar", name="sign-in (form, for the code flow)", allow_redirects=False,
                         headers=self._headers(), data={
                             "identifier": card(self._regular()), "password": SEED["password"],
                             "next": "", "csrf_token": found.group(1) if found else ""})
        self.cookie_ready = True

    @task(0 if PROBE else 8)
    def token_code(self) -> None:
        if not self.cookie_ready:
            self._browser_session()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        with self.client.get("/oauth/authorize", name="authorize", allow_redirects=False,
                             catch_response=True, headers=self._headers(), params={
                                 "response_type": "code", "client_id": SEED["client_id"],
                                 "redirect_uri": SEED["redirect_uri"], "scope": "openid profile email",
                                 "state": "s", "nonce": secrets.token_urlsafe(8),
                                 "code_challenge": challenge, "code_challenge_method": "S256"}) as answer:
            code = parse_qs(urlsplit(answer.headers.get("location", "")).query).get("code")
            if answer.status_code != 303 or not code:
                answer.failure(f"{answer.status_code} {answer.headers.get('location', '')[:120]}")
                self.cookie_ready = False
                return
            answer.success()
        with self.client.post("/oauth/token", name="token: authorization_code", catch_response=True,
                              headers=self._headers(Authorization=BASIC), data={
                                  "grant_type": "authorization_code", "code": code[0],
                                  "redirect_uri": SEED["redirect_uri"],
                                  "code_verifier": verifier}) as answer:
            if answer.status_code == 200:
                body = answer.json()
                self.access_token, self.refresh_token = body["access_token"], body.get("refresh_token")
                answer.success()
            else:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")

    @task(0 if PROBE else 10)
    def refresh(self) -> None:
        if not self.refresh_token:
            return self.token_code()
        with self.client.post("/oauth/token", name="token: refresh_token", catch_response=True,
                              headers=self._headers(Authorization=BASIC), data={
                                  "grant_type": "refresh_token",
                                  "refresh_token": self.refresh_token}) as answer:
            if answer.status_code == 200:
                body = answer.json()
                self.access_token = body["access_token"]
                self.refresh_token = body.get("refresh_token", self.refresh_token)
                answer.success()
            else:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")
        return None

    @task(0 if PROBE else 30)
    def userinfo(self) -> None:
        if not self.access_token:
            return self.token_code()
        with self.client.get("/oauth/userinfo", name="userinfo", catch_response=True,
                             headers=self._headers(Authorization=f"Bearer {self.access_token}")) as answer:
            if answer.status_code == 200:
                answer.success()
            else:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")
        return None



def birth(i: int) -> str:  # as bench/loadtest/seed.py writes it
    return f"{1940 + i % 50:04d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
