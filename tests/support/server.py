"""A real Guarita server in a subprocess on 127.0.0.1, for tests and benchmarks that need one."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.ports import free_port  # noqa: F401 - re-exported for the tests

ROOT = Path(__file__).resolve().parents[2]
GUARITA = ROOT / ".venv" / "bin" / "guarita"


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARITA_")}
    env.update({
        "GUARITA_ENV": "test",
        "GUARITA_DATABASE_URL": database_url,
        "GUARITA_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hmac-0123456789",
        "GUARITA_LOG_LEVEL": "WARNING",
        "GUARITA_RUN_WORKER_IN_SERVER": "false",
        # People made by services sign in from the browser: a "new device" each time (see
        # tests/conftest.py make_settings); tests/guard turns the trigger on.
        "GUARITA_GUARD__NEW_DEVICE_HOLD_HOURS": "0",
    })
    env.update(extra)
    return env


@contextmanager
def running_server(env: dict[str, str], port: int | None = None, workers: int = 1,
                   cpu: int | None = None, timeout: float = 300.0):
    """Starts ``guarita serve`` and yields ``(base_url, process)``; stops it afterwards."""
    port = port or free_port()
    env = {**env, "GUARITA_BASE_URL": env.get("GUARITA_BASE_URL", f"http://127.0.0.1:{port}")}
    command = [str(GUARITA), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    # The server's log goes to a file, never to a pipe: nobody reads a pipe while the server
    # runs, and once its 64 KiB buffer is full the server blocks on its next log line — a
    # 10-minute load test froze that way (the in-server outbox worker's retries log warnings).
    log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=log, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read()[-2000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in time")
            time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def migrate(database_url: str) -> None:
    subprocess.run([str(GUARITA), "migrate"], env=server_env(database_url), cwd=ROOT, check=True,
                   capture_output=True)


__all__ = ["free_port", "migrate", "running_server", "server_env"]
