"""Where and when a run was measured: machine, library versions and date, stored beside the numbers."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("ardmzip", "torch", "numpy", "constriction", "pillow", "imagecodecs", "matplotlib")


def _cpu() -> str:
    """The processor's model name (Linux); platform.processor() is often empty there."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def environment(threads: int, jobs: int = 1) -> dict:
    """jobs: worker processes that measured images at once, each with `threads` torch threads."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": _cpu(), "arch": platform.machine(), "cores": os.cpu_count(),
                    "os": platform.platform(), "threads": threads, "jobs": jobs},
        "versions": _versions(),
    }
