"""A fleet's silences: added on one host with `logwatch silence add`, they mute every host."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from logwatch.rules import LabelMatcher, SilenceStore
from logwatch.rules.failover import SharedLink
from logwatch.rules.redis_silences import SharedSilences, to_json
from tests.daemon_harness import AppLog, Receiver, logwatch, running_daemon, wait_for
from tests.fleet_harness import SILENCE_RULES, Host, fleet, receiver, wait_for_a_read, write_config
from tests.redis_harness import RedisServer, redis_server

__all__ = ["receiver", "redis_server"]  # fixtures



class TestSilenceAcrossHosts:
    def test_a_silence_added_on_a_quiet_host_mutes_the_others(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        """The host an operator silences from need not see the error itself: the silence
        reaches the fleet without an alert there asking for it."""
        hook = httpserver.url_for("/alerts")
        with fleet(tmp_path, ["web-1", "web-2"], redis_server, hook, SILENCE_RULES) as hosts:
            web1, web2 = hosts
            marker = add_silence(web2, "rule=maintenance", "marker")
            add_silence(web1, "rule=payments", "deploy")
            wait_for_a_read(redis_server, marker)
            web2.app_log.exception(7)
            web2.app_log.info("canary")  # not silenced: once it arrives, web-2 has decided
            wait_for(lambda: receiver.count() >= 1, 15, "the canary")
            assert [body["rule"] for body in receiver.bodies] == ["canary"]


def add_silence(host: Host, matcher: str, comment: str) -> str:
    """`logwatch silence add` on ``host``; its id."""
    added = logwatch("silence", "add", "-c", str(host.config), "--match", matcher,
                     "--for", "1h", "--comment", comment)
    assert added.returncode == 0, added.stderr
    return added.stdout.strip()


def listed(host: Host, *flags: str) -> list[dict[str, Any]]:
    """`logwatch silence list --json` on ``host``, which must succeed."""
    result = logwatch("silence", "list", "--json", *flags, "-c", str(host.config))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def published(redis: RedisServer, count: int) -> None:
    """Wait until the daemons have published ``count`` silences to the fleet."""
    client = redis.client()
    try:
        wait_for(lambda: len(client.hgetall("logwatch:silences")) >= count, 15,
                 f"{count} silence(s) published")
    finally:
        client.close()


class TestTheFleetsSilencesFromAnyHost:
    def test_silence_list_shows_every_hosts_silences_once_with_their_host(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        """Both hosts mute with both silences, so each host lists both, naming who holds it."""
        hook = httpserver.url_for("/alerts")
        with fleet(tmp_path, ["web-1", "web-2"], redis_server, hook, SILENCE_RULES) as hosts:
            web1, web2 = hosts
            first = add_silence(web1, "rule=payments", "deploy")
            second = add_silence(web2, "rule=canary", "noisy")
            published(redis_server, 2)
            for host in hosts:
                shown = [(item["id"], item["host"], item["state"]) for item in listed(host)]
                assert shown == [(first, "web-1", "active"), (second, "web-2", "active")]
            text = logwatch("silence", "list", "-c", str(web2.config))
            assert f"{first}  active " in text.stdout
            assert "on web-1  rule=payments  deploy" in text.stdout
            status = web2.status()
            assert [(item["id"], item["host"]) for item in status["silences"]] == [
                (first, "web-1"), (second, "web-2")]
            assert "silences_unreachable" not in status
            rendered = logwatch("status", "-c", str(web2.config)).stdout.splitlines()
            header = next(line for line in rendered if line.strip().startswith("ID "))
            assert header.split()[:5] == ["ID", "STATE", "ENDS", "HOST", "MATCHERS"]
            [row] = [line for line in rendered if first in line]
            assert row.split()[:2] + row.split()[4:6] == [first, "active", "web-1",
                                                          "rule=payments"]

    def test_a_silence_made_on_another_host_is_expired_for_the_whole_fleet(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        """Expired from web-2, web-1's silence ends on web-1 too, whose own state dir holds
        it and whose daemon publishes it again and again: alerts flow on both hosts."""
        hook = httpserver.url_for("/alerts")
        with fleet(tmp_path, ["web-1", "web-2"], redis_server, hook, SILENCE_RULES) as hosts:
            web1, web2 = hosts
            silence = add_silence(web1, "rule=payments", "deploy")
            published(redis_server, 1)
            expired = logwatch("silence", "expire", silence, "-c", str(web2.config))
            assert (expired.returncode, expired.stdout) == (0, f"expired {silence}\n"), (
                expired.stderr)
            assert listed(web1) == []
            [ended] = listed(web1, "--all")
            assert (ended["id"], ended["state"]) == (silence, "expired")
            # what web-1's daemon mutes with by itself, Redis or not: its own state dir
            own = SilenceStore.in_dir(web1.workdir / "state")
            try:
                wait_for(lambda: own.list(datetime.now(UTC)) == [], 15,
                         "web-1's daemon to end its own copy")
            finally:
                own.close()
            web1.app_log.exception(7)
            web2.app_log.exception(8)
            wait_for(lambda: receiver.count() >= 2, 15, "both hosts' alerts")
            assert sorted(body["host"] for body in receiver.bodies) == ["web-1", "web-2"]
            again = logwatch("silence", "expire", silence, "-c", str(web2.config))
            assert again.returncode == 1
            assert f"no active silence {silence!r}" in again.stderr


SILENCES = "logwatch:silences"


def stopped_host(tmp_path: Path, name: str, redis: RedisServer, hook: str) -> Host:
    """A host of the fleet whose daemon is not running (yet)."""
    workdir = tmp_path / name
    (workdir / "logs").mkdir(parents=True)
    app_log = AppLog(workdir / "logs" / "app.log")
    app_log.info("service started")
    return Host(name, workdir, app_log, write_config(workdir, name, redis.url, hook, SILENCE_RULES))


class TestSilenceAddWhereNoDaemonRuns:
    def test_the_silence_reaches_the_fleet_in_the_record_the_daemon_publishes(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        receiver: Receiver,
        redis_server: RedisServer,
    ) -> None:
        """web-1's daemon is stopped: `silence add` there publishes the silence itself, and
        web-2 mutes with it. web-1's daemon, started later, publishes the very same record."""
        hook = httpserver.url_for("/alerts")
        web1 = stopped_host(tmp_path, "web-1", redis_server, hook)
        client = redis_server.client()
        try:
            with fleet(tmp_path, ["web-2"], redis_server, hook, SILENCE_RULES) as [web2]:
                marker = add_silence(web2, "rule=maintenance", "marker")
                published(redis_server, 1)
                added = logwatch("silence", "add", "-c", str(web1.config), "--match",
                                 "rule=payments", "--for", "1h", "--comment", "deploy")
                assert added.returncode == 0, added.stderr
                assert "out of reach" not in added.stderr
                silence = added.stdout.strip()
                record = client.hget(SILENCES, silence)  # at once: no daemon of web-1 ran
                assert record is not None
                own = SilenceStore.in_dir(web1.workdir / "state")
                try:
                    [kept] = own.list(datetime.now(UTC))  # and kept on web-1, as before
                finally:
                    own.close()
                assert record == to_json(replace(kept, host="web-1"))
                wait_for_a_read(redis_server, marker)
                web2.app_log.exception(7)
                web2.app_log.info("canary")  # not silenced: once it arrives, web-2 has decided
                wait_for(lambda: receiver.count() >= 1, 15, "the canary")
                assert [body["rule"] for body in receiver.bodies] == ["canary"]

                with running_daemon(web1.config, web1.workdir):
                    client.hdel(SILENCES, silence)
                    wait_for(lambda: client.hexists(SILENCES, silence), 15,
                             "web-1's daemon to publish its silence")
                    assert client.hget(SILENCES, silence) == record
        finally:
            client.close()
            web1.app_log.close()

    def test_with_redis_out_of_reach_the_fleet_gets_it_when_the_daemon_runs(
        self,
        tmp_path: Path,
        httpserver: HTTPServer,
        redis_server: RedisServer,
    ) -> None:
        """Kept on this host as without Redis (exit 0), and stderr says when the fleet gets it:
        once this host's daemon runs and Redis answers."""
        web1 = stopped_host(tmp_path, "web-1", redis_server, httpserver.url_for("/alerts"))
        redis_server.kill()
        try:
            added = logwatch("silence", "add", "-c", str(web1.config), "--match",
                             "rule=payments", "--for", "1h", "--comment", "deploy")
            assert added.returncode == 0, added.stderr
            silence = added.stdout.strip()
            assert "added on this host only, the fleet's silences are out of reach" in (
                added.stderr)
            assert "the fleet gets it when this host's daemon runs" in added.stderr
            code, records, _ = run(web1.config, "silence", "list", "--json")
            assert (code, [record["id"] for record in records]) == (1, [silence])

            redis_server.start()
            client = redis_server.client()
            try:
                assert not client.hexists(SILENCES, silence)
                with running_daemon(web1.config, web1.workdir):
                    wait_for(lambda: client.hexists(SILENCES, silence), 15,
                             "web-1's daemon to publish its silence")
            finally:
                client.close()
        finally:
            web1.app_log.close()


def cli_config(tmp_path: Path, url: str) -> Path:
    """web-1's config, with a notifier secret the operator's shell does not have."""
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"""
state_dir: {tmp_path / "state"}
host: web-1
rules: [{{name: payments, match: {{exception: [ValueError]}}, notify: [hook]}}]
notifiers:
  hook: {{type: webhook, url: "https://hooks.example.com/${{HOOK_TOKEN}}"}}
state: {{backend: redis, url: "{url}"}}
""",
        encoding="utf-8",
    )
    return config


def run(config: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """Exit status, the JSON printed (one object a line, or status's one), stderr."""
    result = logwatch(*args, "-c", str(config))
    if args[0] == "status" and result.stdout:
        return result.returncode, [json.loads(result.stdout)], result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.returncode, records, result.stderr


class TestWithoutRedis:
    def test_this_hosts_silences_are_listed_and_ended_and_the_gap_is_said(
        self, tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Redis down: `silence list` shows this host's, says on stderr that the fleet's are
        missing and exits 1 (a partial answer); `expire` ends this host's, not the others'."""
        monkeypatch.delenv("HOOK_TOKEN", raising=False)
        config = cli_config(tmp_path, redis_server.url)
        added = logwatch("silence", "add", "-c", str(config), "--match", "rule=payments",
                         "--for", "1h", "--comment", "deploy")
        assert added.returncode == 0, added.stderr
        mine = added.stdout.strip()
        # web-2's daemon publishes web-2's own silence, as it does every 2 s
        web2_store = SilenceStore(tmp_path / "web-2.db")
        theirs = web2_store.add([LabelMatcher.parse("rule=canary")], starts_at=datetime.now(UTC),
                                ends_at=datetime.now(UTC) + timedelta(hours=1), comment="noisy")
        web2 = SharedSilences(redis_server.client(), SharedLink(), local=web2_store, host="web-2")
        web2.refresh(datetime.now(UTC))
        web2.close()
        web2_store.close()
        code, records, _ = run(config, "silence", "list", "--json")
        assert (code, {(r["id"], r["host"]) for r in records}) == (
            0, {(mine, "web-1"), (theirs.id, "web-2")})

        redis_server.kill()
        code, records, err = run(config, "silence", "list", "--json")
        assert (code, [(r["id"], r["host"]) for r in records]) == (1, [(mine, "web-1")])
        assert "the fleet's silences are out of reach, only this host's are shown" in err
        assert "HOOK_TOKEN" not in err
        code, _, err = run(config, "silence", "expire", theirs.id)
        assert code == 1
        assert f"no active silence {theirs.id!r} on this host, and the fleet's" in err
        code, [status], err = run(config, "status", "--json")
        assert code == 0
        assert [item["id"] for item in status["silences"]] == [mine]
        assert "out of reach" in err
        rendered = logwatch("status", "-c", str(config))
        assert "silences: THIS HOST'S ONLY; the fleet's are out of reach" in rendered.stdout
        code, _, err = run(config, "silence", "expire", mine)
        assert code == 0
        assert "ended on this host only" in err
        code, records, _ = run(config, "silence", "list", "--json")
        assert (code, records) == (1, [])

    def test_a_redis_url_in_a_variable_this_shell_lacks_is_named(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The url may live in the daemon's environment file with the other secrets."""
        monkeypatch.delenv("HOOK_TOKEN", raising=False)
        monkeypatch.delenv("FLEET_REDIS_URL", raising=False)
        config = cli_config(tmp_path, "${FLEET_REDIS_URL}")
        code, _, err = run(config, "silence", "add", "--match", "rule=payments", "--for", "1h",
                           "--comment", "deploy")
        assert code == 0, err
        code, records, err = run(config, "silence", "list", "--json")
        assert (code, len(records)) == (1, 1)
        assert "${FLEET_REDIS_URL} is not set" in err
        assert "HOOK_TOKEN" not in err
        code, [status], err = run(config, "status", "--json")
        assert code == 0
        [shown] = status["silences"]
        assert shown["id"] == records[0]["id"]
        assert "${FLEET_REDIS_URL} is not set" in status["silences_unreachable"]

    def test_a_url_whose_password_breaks_it_is_refused_without_the_password(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A password holding "#", "/" or "?" unencoded makes no URL redis-py can read:
        `check` says so (the daemon could not start), and `silence` and `status` still
        work with this host's silences; no message shows the password."""
        monkeypatch.setenv("HOOK_TOKEN", "t")
        config = cli_config(tmp_path, "redis://:s3cr#et@127.0.0.1:6379/0")
        checked = logwatch("check", "-c", str(config))
        assert checked.returncode == 2
        assert "state.url" in checked.stderr
        code, _, err = run(config, "silence", "add", "--match", "rule=payments", "--for", "1h",
                           "--comment", "deploy")
        assert code == 0, err
        code, records, err = run(config, "silence", "list", "--json")
        assert (code, len(records)) == (1, 1)
        assert "percent-encoded" in err
        code, [status], err = run(config, "status", "--json")
        assert (code, len(status["silences"])) == (0, 1)
        for said in (checked.stdout + checked.stderr, err, json.dumps(status)):
            assert "s3cr" not in said

    def test_a_url_option_redis_cannot_read_is_refused_by_check(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`?socket_timeout=abc` passed `check`, then `silence list` died in redis-py's
        parser with a traceback: `check` refuses it, and the commands carry on with
        this host's silences, as with any url they cannot use."""
        monkeypatch.setenv("HOOK_TOKEN", "t")
        config = cli_config(tmp_path, "redis://:s3cret@127.0.0.1:6379/0?socket_timeout=abc")
        checked = logwatch("check", "-c", str(config))
        assert checked.returncode == 2
        assert "state.url: url cannot be read: Invalid value for 'socket_timeout'" in (
            checked.stderr
        )
        code, records, err = run(config, "silence", "list", "--json")
        assert (code, records) == (1, [])
        assert "Traceback" not in err
        for said in (checked.stdout + checked.stderr, err):
            assert "s3cret" not in said

    @pytest.mark.parametrize("password", ["4711#cret", "4711/cret", "4711?cret"])
    def test_a_password_broken_after_digits_is_refused_too(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str
    ) -> None:
        """Digits before an unencoded "#", "/" or "?" read as a port: redis-py would go
        to localhost:4711 with no password (a server the URL does not name), and its
        error would show the password's start. `check` refuses it like any broken URL."""
        monkeypatch.setenv("HOOK_TOKEN", "t")
        config = cli_config(tmp_path, f"redis://:{password}@127.0.0.1:6379/0")
        checked = logwatch("check", "-c", str(config))
        assert checked.returncode == 2
        assert "state.url" in checked.stderr
        assert "percent-encoded" in checked.stderr
        code, records, err = run(config, "silence", "list", "--json")
        assert (code, records) == (1, [])
        assert "percent-encoded" in err
        for said in (checked.stdout + checked.stderr, err):
            assert "4711" not in said
