"""``make cluster`` on a machine where its ports are taken (docs/scale.md › The cluster):
``choose_ports`` in scripts/cluster/common.sh keeps the block of the last start (or 8300) when
it is free, moves to a free block when something else listens there, writes the choice to
``$CLUSTER_DIR/port`` (read by ``make cluster-stop`` and ``make loadtest``), and never moves a
``CLUSTER_PORT`` given by the caller."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.support.cluster import free_base
from tests.support.server import ROOT


def choose(directory: Path, **extra: str) -> tuple[int, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLUSTER_", "GUARITA_"))}
    out = subprocess.run(
        ["/bin/bash", "-c", f"source {ROOT}/scripts/cluster/common.sh && choose_ports && "
                            'echo "$CLUSTER_PORT $PG_PORT"'],
        env={**env, "CLUSTER_DIR": str(directory), **extra}, capture_output=True, text=True,
        check=True).stdout
    port, pg_port = map(int, out.split())
    return port, pg_port


def all_free(base: int) -> bool:
    try:
        for port in range(base, base + 6):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def test_the_last_block_is_kept_while_it_is_free(tmp_path):
    base = free_base()
    (tmp_path / "port").write_text(f"{base}\n")
    assert choose(tmp_path) == (base, base + 4)
    assert (tmp_path / "port").read_text().strip() == str(base)


def test_a_block_something_else_listens_on_is_left_for_a_free_one(tmp_path):
    base = free_base()
    (tmp_path / "port").write_text(f"{base}\n")
    with socket.socket() as other:  # say, another checkout's PostgreSQL on base + 4
        other.bind(("127.0.0.1", base + 4))
        other.listen()
        port, pg_port = choose(tmp_path)
    assert port != base
    assert pg_port == port + 4
    assert all_free(port)
    assert (tmp_path / "port").read_text().strip() == str(port)


def test_a_port_the_caller_gives_is_never_moved(tmp_path):
    base = free_base()
    with socket.socket() as other:
        other.bind(("127.0.0.1", base))
        other.listen()
        assert choose(tmp_path, CLUSTER_PORT=str(base)) == (base, base + 4)
