"""Loopback ports for the servers the suite starts (Guarita, PostgreSQL, PgBouncer, SMTP, the
outside providers).

A port is chosen *below* the kernel's ephemeral range (``net.ipv4.ip_local_port_range``,
32768–60999 on Linux). A port taken from that range by binding to port 0 and closing is free
only for a moment: the kernel hands the same numbers to every outgoing connection and to every
``bind(0)`` of the recording HTTP servers, so under pytest-xdist a server of one worker could
find its port taken, while the other worker's readiness probe kept polling whatever answered
there (a back-channel logout test once recorded another worker's ``GET /healthz``). Below the
range, only other ``free_port`` calls compete, and a random pick that is bound and released
first makes that unlikely even across several suites on one machine.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_FLOOR = 20_000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port() -> int:
    """A loopback port nobody listens on right now, outside the ephemeral range."""
    return free_block(1)


def free_block(size: int) -> int:
    """The first of ``size`` consecutive free loopback ports, outside the ephemeral range."""
    ceiling = max(_ephemeral_start(), _FLOOR + 1_000) - size
    picker = random.SystemRandom()
    for _ in range(200):
        first = picker.randrange(_FLOOR, ceiling)
        if all(_bindable(port) for port in range(first, first + size)):
            return first
    raise RuntimeError("nenhuma porta livre abaixo da faixa efêmera")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
