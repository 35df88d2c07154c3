"""Memory checks: refuse up front what would need more memory than this process can use."""

from __future__ import annotations

import contextlib
import os

from .common import CommandError

__all__ = ["available_memory", "check_memory", "size_text"]


def _cgroup_room() -> int | None:
    """Bytes left under this process's control group's memory limit (cgroup v2), if any."""
    try:
        with open("/sys/fs/cgroup/memory.max") as handle:
            limit = handle.read().strip()
        with open("/sys/fs/cgroup/memory.current") as handle:
            used = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" or not limit.isdigit() else max(int(limit) - used, 0)


def available_memory() -> int | None:
    """Bytes of memory this process can still use, as far as the system tells (None: unknown)."""
    found: list[int] = []
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    room = _cgroup_room()
    if room is not None:
        found.append(room)
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            found.append(soft)
    return min(found) if found else None


def size_text(n_bytes: float) -> str:
    """``1.5 GiB``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.0f} bytes" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def check_memory(needed: float, what: str, advice: str) -> None:
    """Refuse up front ``what`` would need more memory than is available."""
    available = available_memory()
    if available is not None and needed > available:
        raise CommandError(
            f"not enough memory: {what} needs about {size_text(needed)}, and "
            f"{size_text(available)} is available ({advice})"
        )
