"""Staff sign-in answers every failure alike and no sooner than the failure floor
(SECURITY.md › Account enumeration; ``services/attempts.py``): a right password with a wrong
authenticator code must not answer measurably slower than a wrong password, or the timing would
confirm a guessed password to whoever holds a member's e-mail."""

from __future__ import annotations

import statistics
import time

import pytest

from guarita.config import PasswordPolicy
from guarita.domain.errors import ErrorCode, GuaritaError
from guarita.services import staff as staff_service
from tests.console.helpers import CTX, STAFF_PASSWORD, quick_staff

# Well above one argon2id hash plus the second factor's work even on a loaded machine (a hash
# took 200 ms on the shared test machine): every path must end on the floor, not past it.
FLOOR_MS = 1000


@pytest.fixture
def settings_overrides() -> dict:
    return {"password": PasswordPolicy(failure_floor_ms=FLOOR_MS)}


async def _timed(runtime, email: str, password: str, code: str) -> float:  # noqa: ANN001
    started = time.perf_counter()
    with pytest.raises(GuaritaError) as raised:
        await staff_service.sign_in(runtime, email, password, code, CTX)
    assert raised.value.code is ErrorCode.INVALID_CREDENTIALS
    return time.perf_counter() - started


async def test_right_password_wrong_code_takes_as_long_as_a_wrong_password(runtime):
    runtime.settings.lockout.free_failures = 10_000  # measure the answer, not the wait
    runtime.settings.rate_limits.login = "100000/300"
    member = await quick_staff(runtime, "agent")
    hash_costs = []
    for _ in range(5):
        started = time.perf_counter()
        await runtime.hasher.verify(runtime.hasher._dummy, "x")
        hash_costs.append(time.perf_counter() - started)
    one_hash = statistics.median(hash_costs)

    wrong_code, wrong_password, unknown = [], [], []
    for _ in range(8):  # interleaved, so machine noise hits every path alike
        wrong_code.append(await _timed(runtime, member.email, STAFF_PASSWORD, "000000"))
        wrong_password.append(await _timed(runtime, member.email, "errada errada errada", "000000"))
        unknown.append(await _timed(runtime, "ninguem@atendimento.example.org", STAFF_PASSWORD,
                                    "000000"))
    floor = FLOOR_MS / 1000
    assert min(wrong_code + wrong_password + unknown) >= floor
    medians = [statistics.median(x) for x in (wrong_code, wrong_password, unknown)]
    # Every path is held to the floor; what is left is scheduling noise, far below one hash
    # (without the floor, the second factor's work would show on top of the hash).
    assert max(medians) - min(medians) < 0.5 * one_hash, (medians, one_hash)
