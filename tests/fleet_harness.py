"""Several logwatch daemons, one per pretend host, sharing a real redis-server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.daemon_harness import AppLog, Receiver, logwatch, running_daemon, wait_for
from tests.redis_harness import RedisServer


@pytest.fixture
def receiver(httpserver: HTTPServer) -> Receiver:
    """The one webhook endpoint every host of the fleet posts to."""
    recorder = Receiver()
    httpserver.expect_request("/alerts", method="POST").respond_with_handler(recorder.handle)
    return recorder


@dataclass
class Host:
    """One host of the fleet: its own log file, state dir and config."""

    name: str
    workdir: Path
    app_log: AppLog
    config: Path

    def status(self) -> dict[str, Any]:
        """`logwatch status --json`, as an operator on that host would run it."""
        result = logwatch("status", "--json", "-c", str(self.config))
        assert result.returncode == 0, result.stderr
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    def shared_state(self) -> dict[str, Any]:
        shared: dict[str, Any] = self.status()["daemon"].get("shared_state") or {}
        return shared


def write_config(workdir: Path, host: str, redis_url: str, hook_url: str, rule: str) -> Path:
    config = workdir / "logwatch.yaml"
    config.write_text(
        f"""
state_dir: {workdir / "state"}
host: {host}
labels: {{service: shop}}
sources:
  - name: app
    paths: ["{workdir / "logs" / "app.log"}"]
    start_at: end
    multiline: {{flush_after: 100ms}}
rules:
{rule}
notifiers:
  hook: {{type: webhook, url: "{hook_url}"}}
delivery: {{initial_backoff: 100ms, max_backoff: 500ms, timeout: 2s}}
state: {{backend: redis, url: "{redis_url}", timeout: 250ms, retry_every: 1s}}
""",
        encoding="utf-8",
    )
    return config


@contextmanager
def fleet(
    tmp_path: Path, names: list[str], redis: RedisServer, hook_url: str, rule: str
) -> Iterator[list[Host]]:
    """Start one daemon per host name, all sharing ``redis``; stop them at the end."""
    with ExitStack() as stack:
        hosts = []
        for name in names:
            workdir = tmp_path / name
            # the log apart from daemon.stderr: a daemon watching its own
            # debug output would read forever
            (workdir / "logs").mkdir(parents=True)
            app_log = AppLog(workdir / "logs" / "app.log")
            stack.callback(app_log.close)
            app_log.info("service started")
            config = write_config(workdir, name, redis.url, hook_url, rule)
            stack.enter_context(running_daemon(config, workdir))
            hosts.append(Host(name, workdir, app_log, config))
        wait_for_connected(redis, names)
        yield hosts


def connected(redis: RedisServer) -> set[str]:
    """The hosts whose daemons hold a connection to ``redis`` (their CLIENT SETNAME)."""
    client = redis.client()
    try:
        return {
            str(entry["name"]).removeprefix("logwatch:")
            for entry in client.client_list()
            if str(entry.get("name", "")).startswith("logwatch:")
        }
    finally:
        client.close()


def wait_for_connected(redis: RedisServer, names: list[str]) -> None:
    """Wait until every daemon talks to ``redis``: they tick every second, so they soon do."""
    wait_for(lambda: connected(redis) >= set(names), 15, f"{names} connected to redis")


def wait_for_a_read(redis: RedisServer, marker: str, prefix: str = "logwatch:") -> None:
    """Wait until the daemon holding silence ``marker`` has read the fleet's silences since
    this call: each refresh publishes its own silences, then reads, so its marker, deleted
    here, back in Redis means a read that saw what was there before."""
    client = redis.client()
    try:
        client.hdel(f"{prefix}silences", marker)
        wait_for(lambda: client.hexists(f"{prefix}silences", marker), 15,
                 f"the next refresh of the daemon holding {marker}")
    finally:
        client.close()


# rules of the silence and restart tests: one alert per exception, one per INFO record
SILENCE_RULES = """
  - name: payments
    match: {exception: [ValueError]}
    notify: [hook]
  - name: canary
    match: {level: [INFO]}
    notify: [hook]
"""
