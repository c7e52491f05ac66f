"""A fleet's silences: added on one host with `logwatch silence add`, they mute every host."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.daemon_harness import Receiver, logwatch, wait_for
from tests.fleet_harness import fleet, receiver
from tests.redis_harness import RedisServer, redis_server

__all__ = ["receiver", "redis_server"]  # fixtures

RULE = """
  - name: payments
    match: {exception: [ValueError]}
    notify: [hook]
  - name: canary
    match: {level: [INFO]}
    notify: [hook]
"""


class TestSilenceAcrossHosts:
    def test_a_silence_added_on_a_quiet_host_mutes_the_others(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        """The host an operator silences from need not see the error itself: its daemon
        publishes the silence to the fleet on its own."""
        hook = httpserver.url_for("/alerts")
        with fleet(tmp_path, ["web-1", "web-2"], redis_server, hook, RULE) as hosts:
            web1, web2 = hosts
            added = logwatch("silence", "add", "-c", str(web1.config), "--match",
                             "rule=payments", "--for", "1h", "--comment", "deploy")
            assert added.returncode == 0, added.stderr
            client = redis_server.client()
            wait_for(lambda: bool(client.hgetall("logwatch:silences")), 15,
                     "web-1's daemon to publish its silence")
            client.close()
            web2.app_log.exception(7)
            web2.app_log.info("canary")  # not silenced: once it arrives, web-2 has decided
            wait_for(lambda: receiver.count() >= 1, 15, "the canary")
            assert [body["rule"] for body in receiver.bodies] == ["canary"]
