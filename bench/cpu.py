"""CPU time of a server and of what works for it, read from /proc (shared by the benchmarks).

``tree_cpu(pid)`` is utime + stime of the process (all its threads), of its live children, and
of the children that already exited and were reaped (``cutime`` + ``cstime``). The last part
matters for PostgreSQL: every connection is a backend process forked by the postmaster, and one
that ends during a measurement (a pool recycling it, a client hanging up) takes its CPU time
with it unless its parent's reaped-children counters are read too.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.exists():
        return found
    for task in tasks.iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def tree_cpu(pid: int) -> float:
    """Seconds of CPU of ``pid``, its descendants alive now, and those it reaped."""
    fields = _fields(pid)
    if fields is None:
        return 0.0
    # after the ")": state=0 … utime=11 stime=12 cutime=13 cstime=14
    total = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS
    for child in _children(pid):
        total += tree_cpu(child)
    return total
