"""A fleet whose Redis dies: alerts keep flowing from each host's own state, and
deciding together resumes when Redis is back, without restarting anything."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.daemon_harness import Receiver, wait_for
from tests.fleet_harness import fleet, receiver, wait_for_connected
from tests.redis_harness import RedisServer, redis_server

__all__ = ["receiver", "redis_server"]  # fixtures

RULE = """
  - name: payments
    match: {exception: [ValueError]}
    cooldown: 4s
    notify: [hook]
"""


class TestRedisOutage:
    def test_alerts_flow_while_redis_is_down_and_dedup_resumes_after(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        hook = httpserver.url_for("/alerts")
        names = ["web-1", "web-2"]
        with fleet(tmp_path, names, redis_server, hook, RULE) as hosts:
            web1, web2 = hosts
            redis_server.kill()

            # Down: each host decides alone. A duplicate is the price, never silence.
            web1.app_log.exception(7)
            web2.app_log.exception(7)
            wait_for(lambda: receiver.count() >= 2, 10, "an alert from each host")
            assert sorted(body["host"] for body in receiver.bodies) == names
            wait_for(lambda: web1.shared_state().get("shared") is False, 15,
                     "`logwatch status` to report the outage")
            outage = web1.shared_state()
            assert outage["backend"] == "redis"
            assert "Connection refused" in outage["error"]

            # Back, on the same address and empty: the daemons find it on their own.
            redis_server.start()
            wait_for_connected(redis_server, names)
            web1.app_log.exception(7)
            wait_for(lambda: receiver.count() >= 3, 10, "web-1's alert after the outage")
            web2.app_log.exception(7)
            wait_for(lambda: receiver.count() >= 4, 20, "the summary of what web-2 saw")

            alert, summary = receiver.bodies[2:]
            assert (alert["host"], alert["hosts"]) == ("web-1", ["web-1"])
            # web-2's occurrence was held back by the cooldown web-1 started, in Redis.
            assert (summary["host"], summary["hosts"], summary["count"]) == (
                "web-1", ["web-2"], 1
            )
            wait_for(lambda: web1.shared_state().get("shared") is True, 15,
                     "`logwatch status` to report the recovery")
        stderr = (web1.workdir / "daemon.stderr").read_text(encoding="utf-8")
        assert stderr.count("shared state unavailable") == 1  # once per outage, not per event
        assert stderr.count("shared state available again") == 1
