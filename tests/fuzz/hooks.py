"""Schemathesis hooks for ``tests/fuzz`` (loaded with ``SCHEMATHESIS_HOOKS=tests.fuzz.hooks``).

Two ways in, as real clients have: a beneficiary's session (``POST /api/v1/sessions``, then
``Authorization: Bearer``) for ``/api/v1/me*`` and ``/api/v1/sessions/current``, and a support
API token (``guarita staff token create``) for ``/api/v1/support``. The session is fetched again
whenever an answer is 401 (the fuzzer signs itself out through ``DELETE /sessions/current``).
"""

from __future__ import annotations

import os

import httpx
import schemathesis

BASE = os.environ.get("FUZZ_BASE_URL", "")


@schemathesis.auth(refresh_interval=600).apply_to(path_regex=r"^/api/v1/(me|sessions/current)")
class BeneficiarySession:
    def get(self, case, context):  # noqa: ANN001, ANN201
        answer = httpx.post(BASE + "/api/v1/sessions", timeout=30, json={
            "identifier": os.environ["FUZZ_IDENTIFIER"], "password": os.environ["FUZZ_PASSWORD"],
        })
        answer.raise_for_status()
        return answer.json()["session_token"]

    def set(self, case, data, context):  # noqa: ANN001, ANN201
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.auth(refresh_interval=3600).apply_to(path_regex=r"^/api/v1/support")
class SupportToken:
    def get(self, case, context):  # noqa: ANN001, ANN201
        return os.environ["FUZZ_SUPPORT_TOKEN"]

    def set(self, case, data, context):  # noqa: ANN001, ANN201
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}



@schemathesis.hook("before_call").apply_to(path="/api/v1/me/contacts", method="POST")
def right_password(context, case, kwargs):  # noqa: ANN001, ANN201
    """Adding a contact asks for the password again; with the right one the fuzzer gets past
    the re-authentication into the contact rules. (A ``before_call`` hook: the ``map_*`` hooks
    reach only the fuzzing phase, not the examples and coverage phases.)"""
    if isinstance(case.body, dict) and isinstance(case.body.get("password"), str):
        case.body = {**case.body, "password": os.environ["FUZZ_PASSWORD"]}


@schemathesis.hook("before_call").apply_to(path_regex=r"^/api/v1/support/people/\{person_id\}")
def real_people(context, case, kwargs):  # noqa: ANN001, ANN201
    """Most generated ids point at a real person (the registry has 15 people), so the support
    operations are fuzzed past "not found"."""
    value = (case.path_parameters or {}).get("person_id")
    if isinstance(value, int) and not isinstance(value, bool):
        case.path_parameters = {**case.path_parameters, "person_id": abs(value) % 16}
