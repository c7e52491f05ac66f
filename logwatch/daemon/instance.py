"""One daemon per state directory.

A second `logwatch run` on the same state dir (started by hand while the
service runs, say) would read the same files from the same offsets and send
every alert again: a receiver that honours Idempotency-Key drops the repeats,
Slack and email do not. So the daemon holds an exclusive ``flock`` on a file
in the state dir while it runs, and a second one refuses to start, naming the
first. The kernel drops the lock with the process, however it ends: no stale
lock to clean up after a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from logwatch.errors import StateError

LOCK_NAME = "daemon.lock"


class InstanceLock:
    """The state dir's lock, held until ``release`` or the process's end."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def take(cls, state_dir: Path) -> InstanceLock:
        """StateError when another process holds it (its pid in the message)."""
        path = state_dir / LOCK_NAME
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StateError(
                f"cannot write in the state dir {state_dir} ({exc.strerror or exc}): state_dir"
                " must be a directory this user may write (under the systemd unit,"
                " /var/lib/logwatch, its StateDirectory=)"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _pid_in(fd)
            os.close(fd)
            raise StateError(
                f"another logwatch daemon{f' (pid {holder})' if holder else ''} is running"
                f" with the state dir {state_dir}: two would send every alert twice;"
                " stop it first, or give this one a state_dir of its own"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StateError(f"cannot lock {path}: {exc.strerror or exc}") from exc
        # who holds it, for the message the next one prints
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _pid_in(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        if text.isdigit():
            return text
    return ""
