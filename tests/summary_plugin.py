"""The table printed at the end of ``make test``: what the suite proved about people (docs/testing.md).

Registered from ``tests/conftest.py`` (``pytest_plugins``). Tests feed it through
:func:`record` (axe pages and violations, fuzzed requests, kills and lost writes); journeys and
race cases are counted from the collected items themselves:

* a *journey* is a test marked ``journey`` (tests/e2e);
* a *race case* is a test marked ``race`` (tests/races) or one of the race tests that live next
  to their feature (:data:`RACE_TESTS`), once per storage backend it ran on.

The table is printed from ``pytest_terminal_summary``, which pytest calls before its short test
summary and its final ``N passed in …`` line, so that line stays last.

Under pytest-xdist (``make test`` runs the suite on several processes) each worker counts its
own tests and hands its counts to the controller when it finishes (``workeroutput``, read in
``pytest_testnodedown``), so the table adds up every worker's.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest

# Race tests that belong to the feature they test, kept where they are (not duplicated here).
RACE_TESTS = {
    # tests/recovery/test_recovery_service.py — one code redeemed 20 times at once
    "test_same_code_twenty_times_at_once_succeeds_once",
    # tests/accounts/test_registration.py — two registrations of one beneficiary at once
    "test_two_simultaneous_registrations_have_one_winner",
    # tests/accounts/test_login.py — 50 wrong passwords in parallel counted exactly 50
    "test_parallel_failures_are_all_counted",
    # tests/oidc/test_token.py — one refresh token / one authorization code used twice at once
    "test_refresh_used_twice_at_once_has_exactly_one_winner",
    "test_code_exchanged_twice_at_once_has_one_winner",
    # tests/messaging/test_worker.py — two workers, each message sent once
    "test_concurrent_workers_send_each_message_exactly_once",
}


@dataclass
class Stats:
    counters: Counter = field(default_factory=Counter)
    outcomes: dict[str, Counter] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **amounts: int) -> None:
        with self.lock:
            self.counters.update(amounts)

    def outcome(self, group: str, passed: bool) -> None:
        with self.lock:
            self.outcomes.setdefault(group, Counter())["passed" if passed else "failed"] += 1


STATS = Stats()
WORKER_KEY = "guarita_summary"


def _exported() -> dict:
    with STATS.lock:
        return {"counters": dict(STATS.counters),
                "outcomes": {group: dict(c) for group, c in STATS.outcomes.items()}}


def _merge(exported: dict) -> None:
    with STATS.lock:
        STATS.counters.update(exported.get("counters", {}))
        for group, counts in exported.get("outcomes", {}).items():
            STATS.outcomes.setdefault(group, Counter()).update(counts)


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker: the controller prints the table
        output[WORKER_KEY] = _exported()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ANN001 - xdist's hook
    _merge(getattr(node, "workeroutput", {}).get(WORKER_KEY, {}))


def record(**amounts: int) -> None:
    """Adds to the counters, e.g. ``record(axe_pages=1, axe_violations=0)``.

    Known keys: ``axe_pages``, ``axe_violations``, ``fuzz_operations``, ``fuzz_cases``,
    ``fuzz_requests``, ``fuzz_failures``, ``crash_kills``, ``crash_acknowledged``,
    ``crash_lost``, ``crash_half_written``, ``fault_cases``.
    """
    STATS.add(**amounts)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "journey: a browser journey of a person (tests/e2e)")
    config.addinivalue_line("markers", "race: requests at the same moment, exactly one winner")
    config.addinivalue_line("markers", "crash: SIGKILL of a running server (tests/crash)")
    config.addinivalue_line("markers", "fuzz: schemathesis against a running server (tests/fuzz)")
    config.addinivalue_line("markers", "fault: a dependency down or hanging (tests/faults)")


def _group(item: pytest.Item) -> str | None:
    if item.get_closest_marker("journey"):
        return "journey"
    name = getattr(item, "originalname", None) or item.name.split("[", 1)[0]
    if item.get_closest_marker("race") or name in RACE_TESTS:
        return "race"
    if item.get_closest_marker("fault"):
        return "fault"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    outcome = yield
    report = outcome.get_result()
    group = _group(item)
    if group is None or report.skipped:
        return
    # One count per test: the call phase, or a failing setup (then there is no call phase).
    if report.when == "call" or (report.when == "setup" and report.failed):
        STATS.outcome(group, report.passed)


def _cell(counter: Counter | None) -> str:
    counter = counter or Counter()
    text = f"{counter['passed']} passaram"
    if counter["failed"]:
        text += f", {counter['failed']} falharam"
    return text


def rows() -> list[tuple[str, str]]:
    c, o = STATS.counters, STATS.outcomes
    found: list[tuple[str, str]] = [
        ("Jornadas no navegador", _cell(o.get("journey"))),
        ("Páginas conferidas pelo axe", f"{c['axe_pages']} (violações: {c['axe_violations']})"),
        ("API fuzzing (schemathesis)",
         f"{c['fuzz_operations']} operações, {c['fuzz_cases']} casos, "
         f"{c['fuzz_requests']} requisições, falhas: {c['fuzz_failures']}"),
        ("Casos de corrida (um vencedor)", _cell(o.get("race"))),
        ("Falhas de dependência", _cell(o.get("fault"))),
        ("Kill -9 do servidor",
         f"{c['crash_kills']} kills, {c['crash_acknowledged']} escritas confirmadas, "
         f"{c['crash_lost']} perdidas, {c['crash_half_written']} pela metade"),
    ]
    return found


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if not (STATS.counters or STATS.outcomes):
        return
    table = rows()
    width = max(len(label) for label, _ in table)
    terminalreporter.section("Guarita: o que a suíte provou", sep="=")
    for label, value in table:
        terminalreporter.line(f"  {label.ljust(width)}  {value}")
