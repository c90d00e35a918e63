"""API fuzzing with schemathesis against ``/openapi.json`` of a running server (docs/testing.md).

Every check schemathesis has (``--checks all``), every phase (examples, coverage, fuzzing,
stateful), authenticated as a beneficiary and as the support API (tests/fuzz/hooks.py). The
server is a real ``guarita serve`` on a fresh SQLite file with the demo registry, one registered
beneficiary and a support token with every scope; captcha off and per-IP limits raised, so the
fuzzer reaches past the front door. 0 server errors and 0 answers that break the schema.

Bounded in ``make test`` (``FUZZ_EXAMPLES``, default 20 cases per operation, fixed seed);
``make fuzz`` runs more with a random seed (``FUZZ_EXAMPLES=300 FUZZ_SEED=random``).

``positive_data_acceptance`` is told which refusals are business rules a JSON schema cannot
express (a CPF's check digits, a weak password, a flow that expired, a captcha): those 4xx are
documented answers with the error envelope, not bugs. Everything else is schemathesis' default.
"""

from __future__ import annotations

import json
import os
import random
import subprocess

import pytest

from tests.e2e.stack import OURS, prepare, stack_env
from tests.summary_plugin import record
from tests.support.factories import STRONG
from tests.support.server import GUARITA, ROOT, running_server

pytestmark = [pytest.mark.fuzz]

SCHEMATHESIS = ROOT / ".venv" / "bin" / "schemathesis"
CONFIG = """\
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "422", "429"]
"""


def _examples() -> int:
    return int(os.environ.get("FUZZ_EXAMPLES", "20"))


def _seed() -> int:
    value = os.environ.get("FUZZ_SEED", "20261121")
    return random.SystemRandom().randrange(2**31) if value == "random" else int(value)


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):  # noqa: ANN201
    directory = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite+aiosqlite:///{directory / 'guarita.db'}"
    # The fuzzer sends thousands of wrong passwords to its own account (/me/password): the
    # lockout would end its session; lockout has its own tests.
    env = stack_env(url, smtp_port=9, GUARITA_CAPTCHA="off", GUARITA_RUN_WORKER_IN_SERVER="false",
                    GUARITA_LOCKOUT__FREE_FAILURES="1000000",
                    GUARITA_LOCKOUT__DISABLE_AFTER_FAILURES="1000000",
                    # The desk's search budget and the daily code caps (anti-oracle and
                    # anti-flood limits, tested in tests/hardening) would stop the fuzzer early.
                    GUARITA_SUPPORT__SEARCH_RATE_TOKEN="1000000/600",
                    GUARITA_CODES__PER_ACCOUNT_PER_DAY="1000000",
                    GUARITA_CODES__PER_DESTINATION_PER_DAY="1000000",
                    GUARITA_CODES__RECOVERY_FLOWS_PER_ACCOUNT_PER_DAY="1000000")
    prepare(directory, url, env, via_cli=False)
    with running_server(env) as (base, _process):
        env = {**env, "GUARITA_BASE_URL": base}
        person = OURS["password"]
        import httpx

        answer = httpx.post(base + "/api/v1/registrations", timeout=30, json={
            "card_number": person.card, "cpf": person.cpf, "birth_date": person.birth.isoformat(),
            "password": STRONG, "password_confirmation": STRONG})
        assert answer.status_code == 201, answer.text
        scopes = ("search,view,caller_check,reveal_card,contacts,unlock,recovery,"
                  "password_reenable,account_status,identity_check,second_factor_remove,dashboard")
        made = subprocess.run([str(GUARITA), "staff", "token", "create",  # noqa: S603
                               "--scopes", scopes,
                               "--name", "fuzz", "--json"], env=env, cwd=directory,
                              capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        token = json.loads(made.stdout)["token"]
        yield base, person, token, directory


def test_openapi_fuzzing(fuzz_target):
    base, person, token, directory = fuzz_target
    reports = directory / "reports"
    config = directory / "schemathesis.toml"
    config.write_text(CONFIG)
    seed = _seed()
    command = [
        str(SCHEMATHESIS), "--no-color", "--config-file", str(config),
        "run", base + "/openapi.json",
        "--checks", "all", "--max-examples", str(_examples()), "--seed", str(seed),
        "--workers", "1", "--request-timeout", "30", "--report", "json,har",
        "--report-dir", str(reports), "--suppress-health-check", "all",
        "--output-truncate", "false",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
           "FUZZ_BASE_URL": base, "FUZZ_IDENTIFIER": person.card, "FUZZ_PASSWORD": STRONG,
           "FUZZ_SUPPORT_TOKEN": token}
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,  # noqa: S603
                          timeout=1800)
    keep = ROOT / "artifacts" / "fuzz"
    keep.mkdir(parents=True, exist_ok=True)
    (keep / "last-run.txt").write_text(done.stdout + done.stderr)
    summary = json.loads(next(reports.glob("json-*.json")).read_text())
    har = json.loads(next(reports.glob("har-*.json")).read_text())
    requests = len(har["log"]["entries"])
    failures = summary["test_cases"]["unique_failures"] + len(summary.get("errors") or [])
    record(fuzz_operations=summary["operations"]["tested"],
           fuzz_cases=summary["test_cases"]["generated"], fuzz_requests=requests,
           fuzz_failures=failures)
    assert summary["operations"]["tested"] >= 20, summary["operations"]
    untested_auth = summary.get("warnings", {}).get("missing_auth") or []
    assert not untested_auth, f"operações que o fuzzer não conseguiu autenticar: {untested_auth}"
    assert done.returncode == 0 and failures == 0, (
        f"schemathesis (semente {seed}) achou {failures} falhas em {requests} requisições; "
        f"reproduza com a semente e veja artifacts/fuzz/last-run.txt:\n{done.stdout[-12000:]}"
    )

