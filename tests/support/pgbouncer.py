"""PgBouncer in transaction mode in front of the suite's PostgreSQL (docs/scale.md › PgBouncer).

The ``pgbouncer`` backend runs a test module through it: the migration and the per-test reset
go to PostgreSQL directly, Guarita itself through PgBouncer with ``?pgbouncer=true``. Modules
marked ``pgbouncer`` run on it too whenever ``postgresql`` is among ``--backends``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support.ports import free_port
from tests.support.postgres import _as_postgres

BINARY = Path("/usr/sbin/pgbouncer")


def available() -> bool:
    return BINARY.exists()


@dataclass
class Bouncer:
    directory: Path
    port: int
    process: subprocess.Popen

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}?pgbouncer=true"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def start(server_url: str) -> Bouncer:
    """PgBouncer on a free loopback port, forwarding every database to ``server_url``'s server,
    with the pool settings of ``scripts/cluster/start.sh``."""
    target = make_url(server_url)
    directory = Path(tempfile.mkdtemp(prefix="guarita-pgbouncer-"))
    directory.chmod(0o755)
    port = free_port()
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    (directory / "pgbouncer.ini").write_text(f"""[databases]
* = host={target.host} port={target.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
max_client_conn = 400
default_pool_size = 10
server_reset_query = DEALLOCATE ALL
server_reset_query_always = 1
ignore_startup_parameters = extra_float_digits
""")
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        for item in directory.iterdir():
            shutil.chown(item, "postgres", "postgres")
    process = subprocess.Popen(  # noqa: S603
        _as_postgres(str(BINARY), "-q", str(directory / "pgbouncer.ini")),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode()[-2000:])
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return Bouncer(directory, port, process)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("o PgBouncer não abriu a porta")
