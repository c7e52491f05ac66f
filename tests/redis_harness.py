"""A real redis-server of the test's own, on loopback: started, killed and restarted at will."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.daemon_harness import free_port

# redis-server's own settings for what it keeps on disk
NOTHING_ON_DISK = ("--save", "", "--appendonly", "no")
APPEND_ONLY = ("--save", "", "--appendonly", "yes")
# managed Redis often refuses CONFIG: an ACL without it, as there
CONFIG_DENIED = (*NOTHING_ON_DISK, "--user", "default", "on", "nopass", "~*", "&*", "+@all",
                 "-config")


class RedisServer:
    """One redis-server process on 127.0.0.1, keeping nothing on disk unless ``settings`` say."""

    def __init__(
        self, workdir: Path, port: int | None = None, *, settings: Sequence[str] = NOTHING_ON_DISK
    ) -> None:
        self.workdir = workdir
        self.port = port if port is not None else free_port()
        self.settings = tuple(settings)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)

    def start(self) -> None:
        """Start it (again, on the same port) and wait until it answers PING."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.workdir), *self.settings],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 10.0
        probe = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        try:
            while True:
                try:
                    probe.ping()
                    return
                except redis.ConnectionError:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(
                            f"redis-server did not start: {self.workdir / 'redis.log'}"
                        ) from None
                    time.sleep(0.01)
        finally:
            probe.close()

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing is answered, as on a stalled server."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-conversation, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def _need_redis_server() -> None:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is missing; .ci/run installs it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, stopped at the end."""
    _need_redis_server()
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


@contextmanager
def started(workdir: Path, settings: Sequence[str]) -> Iterator[RedisServer]:
    """A redis-server with these ``settings``, for the block."""
    _need_redis_server()
    server = RedisServer(workdir, settings=settings)
    server.start()
    try:
        yield server
    finally:
        server.kill()
