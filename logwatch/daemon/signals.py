"""SIGTERM/SIGINT/SIGHUP -> the daemon's stop and reload requests, with no lock in a handler.

A Python signal handler runs in the main thread between two bytecodes, possibly
inside ``threading.Event.wait`` or ``clear`` while that thread holds the lock
``Event.set`` needs: setting an event there deadlocks the daemon. So the
handler only writes the signal number to a pipe, and a thread reads it and
makes the request.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Mapping
from types import FrameType


class SignalRelay:
    """Run ``actions[signum]`` in a thread of its own when ``signum`` arrives."""

    def __init__(self, actions: Mapping[int, Callable[[], None]]) -> None:
        self._actions = dict(actions)
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._thread = threading.Thread(target=self._relay, name="logwatch-signals", daemon=True)

    def install(self) -> None:
        """Start the relay thread and take the signals; call from the main thread."""
        self._thread.start()
        for signum in self._actions:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # a full pipe already holds requests enough: dropping this one loses nothing
        with contextlib.suppress(BlockingIOError):
            os.write(self._write_fd, bytes([signum]))

    def _relay(self) -> None:
        while data := os.read(self._read_fd, 64):
            for signum in data:
                self._actions[signum]()
