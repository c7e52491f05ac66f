"""Run the real daemon in a subprocess and feed it records through the real `logging` module."""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug import Request, Response


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll until ``predicate`` holds; fail the test with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.01)


@dataclass
class RecordedWrite:
    first_line: int
    last_line: int
    exc_type: str
    exc_message: str


class AppLog:
    """A log file written by a real `logging` logger, remembering each record's line span."""

    def __init__(self, path: Path, name: str = "app.payments") -> None:
        self.path = path
        self._logger = logging.getLogger(f"{name}.{id(self)}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        self._handler = logging.FileHandler(path, encoding="utf-8")
        self._handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
        self._logger.addHandler(self._handler)

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
        self._handler.close()

    def _lines(self) -> int:
        if not self.path.exists():
            return 0
        return self.path.read_bytes().count(b"\n")

    def info(self, message: str) -> None:
        self._logger.info(message)

    def exception(self, order: int) -> RecordedWrite:
        before = self._lines()
        try:
            _charge(order)
        except ValueError as exc:
            self._logger.exception("payment failed for order %d", order)
            caught = exc
        after = self._lines()
        return RecordedWrite(before + 1, after, type(caught).__name__, str(caught))


def _charge(order: int) -> None:
    raise ValueError(f"card declined for order {order}")


@dataclass
class Receiver:
    """A webhook endpoint's memory: every request body, and a switch to fail.

    ``fail_ratio`` answers 500 to that share of requests, drawn from ``rng``
    (seed it for a repeatable run); only requests answered 2xx are recorded.
    """

    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    failing: bool = False
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    fail_ratio: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def handle(self, request: Request) -> Response:
        with self.lock:
            if self.failing or (self.fail_ratio and self.rng.random() < self.fail_ratio):
                self.failures += 1
                return Response("down for maintenance", status=500)
            self.bodies.append(json.loads(request.get_data()))
            self.headers.append(dict(request.headers))
        return Response("ok", status=200)

    def ids(self) -> list[str]:
        with self.lock:
            return [body["id"] for body in self.bodies]

    def count(self) -> int:
        with self.lock:
            return len(self.bodies)


class NotifySocket:
    """A real sd_notify datagram socket, as systemd would offer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.1)
        self.messages: list[str] = []

    def wait_for(
        self, field_: str, timeout_s: float = 15.0, *, alive: Callable[[], bool] | None = None
    ) -> None:
        """Wait for ``field_``; ``alive`` says the sender still runs (stop waiting if not)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if alive is not None and not alive():
                raise AssertionError(f"the daemon exited before {field_}; got {self.messages}")
            try:
                data = self._sock.recv(4096).decode()
            except TimeoutError:
                continue
            self.messages.append(data)
            if field_ in data.split("\n"):
                return
        raise AssertionError(f"no {field_} from the daemon; got {self.messages}")

    def wait_for_count(self, field_: str, count: int, timeout_s: float = 15.0) -> None:
        """Wait until ``field_`` has been received ``count`` times in all."""
        deadline = time.monotonic() + timeout_s
        while self.count(field_) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{field_} not seen {count} times; got {self.messages}")
            try:
                self.messages.append(self._sock.recv(4096).decode())
            except TimeoutError:
                continue

    def receive(self) -> None:
        """Take every datagram already waiting, without blocking for more."""
        self._sock.setblocking(False)
        try:
            while True:
                try:
                    self.messages.append(self._sock.recv(4096).decode())
                except BlockingIOError:
                    return
        finally:
            self._sock.settimeout(0.1)

    def count(self, field_: str) -> int:
        return sum(field_ in message.split("\n") for message in self.messages)

    def fields(self) -> list[str]:
        """Every field received so far, in order (a datagram may carry several)."""
        return [item for message in self.messages for item in message.split("\n")]

    def close(self) -> None:
        self._sock.close()


@contextmanager
def running_daemon(
    config: Path,
    workdir: Path,
    *,
    notify: NotifySocket | None = None,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = ("--log-level", "debug"),
    nofile: int | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `logwatch run`, wait for READY=1, and stop it at the end of the block.

    Pass ``notify`` to read the daemon's sd_notify messages yourself, ``env``
    for extra environment variables, ``args`` to replace ``--log-level debug``,
    ``nofile`` for the daemon's soft open-file limit (``LimitNOFILE``).
    """
    own_notify = notify is None
    if notify is None:
        notify = NotifySocket(workdir / f"notify-{time.monotonic_ns()}.sock")
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path), "PYTHONUNBUFFERED": "1",
           **(env or {})}
    stderr = (workdir / "daemon.stderr").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "logwatch", "run", "-c", str(config), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        preexec_fn=None if nofile is None else functools.partial(_limit_nofile, nofile),
    )
    try:
        try:
            notify.wait_for("READY=1", alive=lambda: process.poll() is None)
        except AssertionError as exc:
            stderr.flush()
            tail = (workdir / "daemon.stderr").read_text(errors="replace")[-2000:]
            raise AssertionError(f"{exc}\n--- daemon stderr (end) ---\n{tail}") from None
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if own_notify:
            notify.close()
        stderr.close()


def _limit_nofile(soft: int) -> None:
    """In the child before exec: lower its soft open-file limit, as systemd would."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def stop(process: subprocess.Popen[bytes]) -> tuple[int, float]:
    """SIGTERM the daemon; return its exit code and how long it took."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(10)
    return code, time.monotonic() - started


def logwatch(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one `logwatch` command to completion, as an operator would from a shell."""
    return subprocess.run(
        [sys.executable, "-m", "logwatch", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_settled(state_dir: Path, log: Path, timeout_s: float = 10.0) -> None:
    """Wait until the daemon has committed all of ``log`` and has nothing left to send.

    A negative check ("nothing more was sent") holds from then on: any alert the
    bytes read so far could give is already in the outbox, and the outbox is empty.
    """
    from logwatch.status import collect_status

    def settled() -> bool:
        status = collect_status(state_dir)
        size = log.stat().st_size
        committed = [f["offset"] for f in status["files"] if f["path"] == str(log)]
        return committed == [size] and status["outbox"].get("pending", 0) == 0

    wait_for(settled, timeout_s, f"the daemon to commit all of {log.name} and drain its outbox")
