"""``guarita serve --workers N`` starts even when each worker process is slow to start, as on a
busy machine (README › Production, several servers; ``GUARITA_WORKER_HEALTHCHECK_SECONDS``).

uvicorn's supervisor pings every worker and kills one that does not answer within its timeout; a
spawned worker can answer only once its interpreter has imported the CLI again. With uvicorn's
own 5 s, a cold start longer than that meant kill, respawn, kill, … and a server that never
started. Here every interpreter of the server waits 7 s before running anything (a
``sitecustomize`` on ``PYTHONPATH``), the worst of a loaded machine made certain.
"""

from __future__ import annotations

import httpx

from tests.support.server import migrate, running_server, server_env

SLOW_START = """\
import os
import time

time.sleep(float(os.environ.get("SLOW_START_SECONDS", "0")))
"""


def test_two_workers_start_when_each_takes_longer_than_uvicorns_five_second_ping(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_START)
    url = f"sqlite+aiosqlite:///{tmp_path / 'guarita.db'}"
    migrate(url)
    env = server_env(url, PYTHONPATH=str(site), SLOW_START_SECONDS="7")
    with running_server(env, workers=2, timeout=180) as (base, process):
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        assert process.poll() is None
