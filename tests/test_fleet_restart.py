"""A fleet whose Redis keeps nothing on disk: the daemons say what a restart of it costs,
and put back what they hold themselves (their silences) when it comes back empty."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.daemon_harness import Receiver, logwatch, wait_for
from tests.fleet_harness import SILENCE_RULES, Host, fleet, receiver, wait_for_a_read
from tests.redis_harness import RedisServer, redis_server

__all__ = ["receiver", "redis_server"]  # fixtures


WARNING = "redis keeps the fleet's state in memory only"


class TestARedisThatRestartsEmpty:
    def test_the_daemon_warns_once_and_status_says_so(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        """Neither RDB snapshots nor an append-only file: one warning at the first contact,
        naming what a restart forgets and how to keep it, and `status` shows it."""
        hook = httpserver.url_for("/alerts")
        with fleet(tmp_path, ["web-1"], redis_server, hook, SILENCE_RULES) as [web1]:
            wait_for(lambda: web1.shared_state().get("persistent") is False, 15,
                     "`logwatch status` to report a Redis without persistence")
            rendered = logwatch("status", "-c", str(web1.config)).stdout
            [line] = [line for line in rendered.splitlines() if line.startswith("rules:")]
            assert "deciding with the fleet" in line
            assert "KEEPS NOTHING ON DISK" in line
        stderr = (web1.workdir / "daemon.stderr").read_text(encoding="utf-8")
        [warning] = [line for line in stderr.splitlines() if WARNING in line]
        assert "WARNING" in warning
        for consequence in ("cooldowns", "known fingerprints", "silences", "appendonly yes"):
            assert consequence in warning

    def test_the_hosts_silences_reach_the_fleet_again_after_a_restart(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        """Redis restarts between two of the daemons' calls, so none of them sees it down:
        each host still holds its silences and publishes them again, and they mute again."""
        hook = httpserver.url_for("/alerts")
        with fleet(tmp_path, ["web-1", "web-2"], redis_server, hook, SILENCE_RULES) as hosts:
            web1, web2 = hosts
            payments = add_silence(web1, "rule=payments")
            marker = add_silence(web2, "rule=maintenance")
            client = redis_server.client()
            try:
                wait_for(lambda: set(client.hkeys(SILENCES)) == {payments, marker}, 15,
                         "both silences in redis")
                client.set("left-before-the-restart", 1)
                redis_server.kill()
                redis_server.start()
                assert not client.exists("left-before-the-restart")  # nothing survived
                wait_for(lambda: set(client.hkeys(SILENCES)) == {payments, marker}, 15,
                         "each daemon to publish its silence again")
            finally:
                client.close()
            wait_for_a_read(redis_server, marker)
            web2.app_log.exception(7)
            web2.app_log.info("canary")  # not silenced: once it arrives, web-2 has decided
            wait_for(lambda: receiver.count() >= 1, 15, "the canary")
            assert [body["rule"] for body in receiver.bodies] == ["canary"]


SILENCES = "logwatch:silences"


def add_silence(host: Host, matcher: str) -> str:
    added = logwatch("silence", "add", "-c", str(host.config), "--match", matcher,
                     "--for", "1h", "--comment", "deploy")
    assert added.returncode == 0, added.stderr
    return added.stdout.strip()
