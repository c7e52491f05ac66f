"""A fleet of hosts, one voice: daemons sharing Redis alert once for an error they all see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from tests.daemon_harness import Receiver, wait_for
from tests.fleet_harness import fleet, receiver
from tests.redis_harness import RedisServer, redis_server

__all__ = ["receiver", "redis_server"]  # fixtures

COOLDOWN_RULE = """
  - name: payments
    match: {exception: [ValueError]}
    cooldown: 4s
    notify: [hook]
"""

RESOLVING_RULE = """
  - name: payments
    match: {exception: [ValueError]}
    cooldown: 2s
    resolve_after: 4s
    notify: [hook]
"""

THRESHOLD_RULE = """
  - name: payments
    match: {exception: [ValueError]}
    threshold: {count: 5, within: 1m}
    notify: [hook]
"""


class TestCooldownAcrossHosts:
    def test_one_error_on_two_hosts_is_one_alert_and_its_summary_counts_both(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        """The same traceback on two hosts within the cooldown is one alert; what the
        cooldown held back, on either host, arrives as one summary when it ends."""
        hook = httpserver.url_for("/alerts")
        with fleet(tmp_path, ["web-1", "web-2"], redis_server, hook, COOLDOWN_RULE) as hosts:
            web1, web2 = hosts
            # Both at once: the daemons race for the group, and one wins.
            web1.app_log.exception(7)
            web2.app_log.exception(7)
            wait_for(lambda: receiver.count() >= 1, 10, "the first alert")
            web1.app_log.exception(7)
            web2.app_log.exception(7)
            wait_for(lambda: receiver.count() >= 2, 20, "the summary after the cooldown")

            first, summary = receiver.bodies
            assert (first["status"], first["count"]) == ("firing", 1)
            assert first["hosts"] == [first["host"]]
            assert summary["fingerprint"] == first["fingerprint"]
            assert summary["id"] != first["id"]
            assert summary["count"] == 3  # every occurrence after the first, from both hosts
            assert summary["hosts"] == ["web-1", "web-2"]
            assert receiver.count() == 2


class TestThresholdAcrossHosts:
    def test_five_in_a_minute_is_met_by_three_here_and_two_there(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        """Neither host alone reaches the threshold; together they do, once."""
        hook = httpserver.url_for("/alerts")
        with fleet(tmp_path, ["web-1", "web-2"], redis_server, hook, THRESHOLD_RULE) as hosts:
            web1, web2 = hosts
            for order in range(3):
                web1.app_log.exception(order)
            for order in range(2):
                web2.app_log.exception(order)
            wait_for(lambda: receiver.count() >= 1, 10, "the alert crossing the threshold")

            [alert] = receiver.bodies
            assert alert["count"] == 5
            assert alert["hosts"] == ["web-1", "web-2"]


class TestResolvedAcrossHosts:
    def test_the_resolved_notice_names_every_host_the_incident_was_seen_on(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        """web-1 alerts, web-2's occurrence goes out later (in a summary or an alert of
        its own): the `resolved` notice counts both, so it names both hosts."""
        hook = httpserver.url_for("/alerts")
        with fleet(tmp_path, ["web-1", "web-2"], redis_server, hook, RESOLVING_RULE) as hosts:
            web1, web2 = hosts
            web1.app_log.exception(7)
            wait_for(lambda: receiver.count() >= 1, 10, "web-1's alert")
            web2.app_log.exception(7)

            def resolved() -> list[dict[str, Any]]:
                return [body for body in receiver.bodies if body["status"] == "resolved"]

            wait_for(lambda: bool(resolved()), 30, "the resolved notice")
            [notice] = resolved()
            assert notice["count"] == 2
            assert notice["hosts"] == ["web-1", "web-2"]
            assert [body["hosts"] for body in receiver.bodies[:-1]] == [["web-1"], ["web-2"]]
