"""``scripts/cluster/start.sh`` — the script behind ``make cluster`` — in a folder and on ports
of the caller's own, for tests and benchmarks (docs/scale.md › The cluster)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_block

ROOT = Path(__file__).resolve().parents[2]
START = ROOT / "scripts" / "cluster" / "start.sh"
STOP = ROOT / "scripts" / "cluster" / "stop.sh"


def free_base() -> int:
    """A port with the five after it free too (the balancer, two servers, PgBouncer,
    PostgreSQL, SMTP)."""
    return free_block(6)


@dataclass
class LocalCluster:
    directory: Path
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def direct_url(self) -> str:
        """PostgreSQL itself, not PgBouncer (bulk loads, counters)."""
        return f"postgresql+asyncpg://guarita@127.0.0.1:{self.port + 4}/guarita"


def run_script(path: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(["/bin/bash", str(path)], env=env, cwd=ROOT, capture_output=True,  # noqa: S603
                          text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{path.name}: {done.stdout[-2000:]}{done.stderr[-3000:]}")
    return done.stdout


@contextmanager
def running_cluster(env: dict[str, str]) -> Iterator[LocalCluster]:
    """Starts the cluster in a temporary folder on a free block of ports with ``env`` (its
    ``GUARITA_`` settings pass through to the servers), yields it, stops it and removes the
    folder."""
    # Not under a 0700 temporary folder: PostgreSQL and PgBouncer run as postgres.
    directory = Path(tempfile.mkdtemp(prefix="guarita-cluster-"))
    directory.chmod(0o755)
    cluster = LocalCluster(directory, free_base())
    env = {**env, "CLUSTER_DIR": str(directory), "CLUSTER_PORT": str(cluster.port)}
    try:
        run_script(START, env)
        yield cluster
    finally:
        run_script(STOP, env)
        shutil.rmtree(directory, ignore_errors=True)


__all__ = ["START", "STOP", "LocalCluster", "free_base", "run_script", "running_cluster"]
