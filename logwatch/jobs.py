"""Replay's forked helpers: whether there is a core for one, how it is forked, what it keeps."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NoReturn

# Held off across a fork: Ctrl-C between the fork and the child's own try
# would run the parent's code in the child.
_HELD = {signal.SIGINT, signal.SIGTERM}
_PIPE_BYTES = 1 << 20  # Linux's pipe-max-size by default


def may_fork() -> bool:
    """True where a forked helper can run beside this process, and may.

    Not with ``LOGWATCH_JOBS=1`` in the environment, not with fewer than two
    CPUs to run on, and not in a process with threads (a fork copies only
    the thread that made it).
    """
    if os.environ.get("LOGWATCH_JOBS") == "1" or not hasattr(os, "fork"):
        return False
    return cpus() >= 2 and threading.active_count() == 1


def fork(child: Callable[[Iterable[int]], NoReturn]) -> int:
    """Fork; the new process runs ``child``, which never returns.

    ``child`` gets the signal mask to restore once it is where it can take
    SIGINT and SIGTERM; until then they wait, in both processes.
    """
    masked = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        pid = os.fork()
        if pid == 0:
            child(masked)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, masked)
    return pid


def cpus() -> int:
    """CPUs this process may run on, less what a cgroup quota (systemd's CPUQuota=) allows."""
    affinity = getattr(os, "sched_getaffinity", None)
    count = len(affinity(0)) if affinity else os.cpu_count() or 1
    try:  # cgroup v2: "0::/system.slice/x.service"
        group = Path("/proc/self/cgroup").read_text().partition("0::/")[2].strip()
        quota, period = Path("/sys/fs/cgroup", group, "cpu.max").read_text().split()
        return count if quota == "max" else min(count, int(quota) // int(period))
    except (OSError, ValueError):
        return count


def close_inherited(keep: Iterable[int]) -> None:
    """In a forked helper: close every descriptor but 0, 1, 2 and ``keep``.

    Whatever the parent had open stays open in a fork, another helper's pipe
    too, and a pipe's reader sees its end only once every copy of its write
    end is closed.
    """
    low = 3
    for fd in sorted(set(keep)):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def helper_pipe() -> tuple[int, int]:
    """A pipe between replay and a helper: both ends above 0-2, and 1 MiB of room
    where Linux allows it (a default pipe holds 64 KiB), so either side may run
    ahead of the other for a while. OSError where no pipe can be had."""
    read_end, write_end = map(above_std, os.pipe())
    with contextlib.suppress(AttributeError, OSError):  # Linux only, and up to a limit
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    return read_end, write_end


def above_std(fd: int) -> int:
    """``fd``, or a copy of it above 0-2 if it is one of those (closed when replay began).

    A helper points 0 and 1 at /dev/null: a pipe or file that took one of
    their numbers would be lost.
    """
    if fd > 2:
        return fd
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.close(fd)
    return moved


def write_all(fd: int, data: bytes) -> None:
    """All of ``data`` to ``fd``, a pipe taking it in pieces as its reader makes room."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
