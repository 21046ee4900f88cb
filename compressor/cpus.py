"""How many torch threads the command line runs when none are asked for: the cores not already busy.

Results never depend on the thread count (exact inference), only speed does. A second torch thread helps
on an idle machine, but on a busy one it waits for a core the other work holds, and every network call
waits for its slowest thread; docs/usage.md ("Threads") has the measurement behind the rule.
"""

from __future__ import annotations

import os


def cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def idle_cores(load: float | None = None) -> int:
    """The usable cores less the one-minute load average (rounded), at least one; all of them where the
    system reports no load average."""
    n = cores()
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (OSError, AttributeError):
            return n
    return max(1, min(n, int(n - load + 0.5)))
