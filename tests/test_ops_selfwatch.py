"""Self-monitoring: a notifier that keeps failing is reported once, through a fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from logwatch.config import SelfWatchConfig, load_config_text
from logwatch.daemon.selfwatch import RULE, SelfWatch
from logwatch.delivery.worker import Outcome
from logwatch.errors import ConfigError
from logwatch.model import AlertStatus
from logwatch.store import OutboxRow
from logwatch.testing import sample_alert
from tests.daemon_harness import AppLog, Receiver, running_daemon, wait_for

T0 = 1_800_000_000.0


def row(notifier: str = "hook", created: float = T0) -> OutboxRow:
    return OutboxRow(
        id=1, key=f"a:{notifier}", alert_id="a", notifier=notifier,
        payload=json.dumps(sample_alert().payload()), created=created, attempts=0,
        next_attempt=created, last_error=None, state="pending", sent_at=None,
    )


def retry(at: float, notifier: str = "hook") -> Outcome:
    return Outcome(row(notifier), "retry", T0 + at, "HTTP 500: down for maintenance")


def dead(at: float, notifier: str = "hook") -> Outcome:
    return Outcome(row(notifier), "dead", T0 + at, "HTTP 400: bad request")


def sent(at: float, notifier: str = "hook") -> Outcome:
    return Outcome(row(notifier), "sent", T0 + at)


def watch(after: float = 60.0, *, dead_letters: bool = True) -> SelfWatch:
    config = SelfWatchConfig(notifier="fallback", after=after, dead_letters=dead_letters)
    return SelfWatch(config, host="web-1", labels={"service": "shop"})


class TestSelfWatch:
    def test_failures_shorter_than_after_say_nothing(self) -> None:
        """Failing for less than `after` is a blip the outbox retries away: no alert."""
        selfwatch = watch(after=60)
        assert [selfwatch.observe(retry(at)) for at in (0, 10, 59)] == [(), (), ()]

    def test_failing_for_after_alerts_the_fallback_once(self) -> None:
        """The first failure `after` past the first one alerts; later failures do not."""
        selfwatch = watch(after=60)
        selfwatch.observe(retry(0))
        (delivery,) = selfwatch.observe(retry(61))
        assert delivery.notifier == "fallback"
        alert = delivery.alert
        assert alert.status is AlertStatus.FIRING
        assert alert.rule == RULE
        assert "'hook'" in alert.title
        assert "failing for 1m01s" in alert.title
        assert "HTTP 500" in alert.text
        assert alert.count == 2
        assert alert.labels == {"service": "shop", "notifier": "hook"}
        assert [selfwatch.observe(retry(at)) for at in (120, 600, 3600)] == [(), (), ()]

    def test_recovery_sends_one_resolved_notice(self) -> None:
        """A success after an alerted incident sends `resolved` once and closes the incident."""
        selfwatch = watch(after=60)
        selfwatch.observe(retry(0))
        (firing,) = selfwatch.observe(retry(61))
        (resolved,) = selfwatch.observe(sent(90))
        assert resolved.alert.status is AlertStatus.RESOLVED
        assert resolved.alert.id != firing.alert.id
        assert resolved.alert.fingerprint == firing.alert.fingerprint
        assert selfwatch.observe(sent(91)) == ()

    def test_success_before_after_closes_the_incident_silently(self) -> None:
        """A success resets the clock: two short outages never add up to one long one."""
        selfwatch = watch(after=60)
        selfwatch.observe(retry(0))
        assert selfwatch.observe(sent(30)) == ()
        selfwatch.observe(retry(40))
        assert selfwatch.observe(retry(70)) == ()
        assert len(selfwatch.observe(retry(101))) == 1

    def test_a_new_incident_alerts_again(self) -> None:
        """Once resolved, the next long outage is a new incident with a new id."""
        selfwatch = watch(after=60)
        selfwatch.observe(retry(0))
        (first,) = selfwatch.observe(retry(61))
        selfwatch.observe(sent(62))
        selfwatch.observe(retry(100))
        (second,) = selfwatch.observe(retry(161))
        assert second.alert.id != first.alert.id

    def test_a_dead_letter_alerts_at_once(self) -> None:
        """An alert given up for good is an incident right away, reported once."""
        selfwatch = watch(after=3600)
        (delivery,) = selfwatch.observe(dead(0))
        assert "dead-lettered" in delivery.alert.title
        assert "HTTP 400" in delivery.alert.text
        assert selfwatch.observe(dead(1)) == ()

    def test_dead_letters_can_be_left_to_the_timer(self) -> None:
        """With dead_letters: false, dead letters count as failures like any other."""
        selfwatch = watch(after=60, dead_letters=False)
        assert selfwatch.observe(dead(0)) == ()
        assert len(selfwatch.observe(dead(61))) == 1

    def test_notifiers_have_separate_incidents(self) -> None:
        """One failing notifier does not hide, or stand for, another."""
        selfwatch = watch(after=60)
        selfwatch.observe(retry(0, "hook"))
        selfwatch.observe(retry(50, "slack"))
        assert [d.alert.labels["notifier"] for d in selfwatch.observe(retry(61, "hook"))] == [
            "hook"
        ]
        assert selfwatch.observe(retry(61, "slack")) == ()
        assert len(selfwatch.observe(retry(111, "slack"))) == 1

    def test_the_fallback_never_reports_on_itself(self) -> None:
        """A failing fallback is logged; alerting through it about itself could not work."""
        selfwatch = watch(after=60)
        assert selfwatch.observe(retry(0, "fallback")) == ()
        assert selfwatch.observe(retry(600, "fallback")) == ()

    def test_disabled_without_config(self) -> None:
        """No `selfwatch:` in the config: outcomes are ignored."""
        selfwatch = SelfWatch(None, host="web-1", labels={})
        assert selfwatch.observe(retry(0)) == ()
        assert selfwatch.observe(dead(9999)) == ()

    def test_reconfigure_keeps_the_incident(self) -> None:
        """A reload does not forget that a notifier has been failing since before it."""
        selfwatch = watch(after=60)
        selfwatch.observe(retry(0))
        selfwatch.reconfigure(SelfWatchConfig(notifier="fallback", after=30),
                              host="web-2", labels={})
        (delivery,) = selfwatch.observe(retry(31))
        assert delivery.alert.host == "web-2"


class TestSelfWatchConfig:
    def test_fallback_must_be_a_configured_notifier(self) -> None:
        """A misspelt fallback is a config error at its line, naming the configured ones."""
        text = (
            "notifiers:\n  console: {type: console}\n"
            "selfwatch: {notifier: consle, after: 5m}\n"
        )
        with pytest.raises(ConfigError) as caught:
            load_config_text(text, path="cfg.yaml")
        assert [str(p) for p in caught.value.problems] == [
            "cfg.yaml:3:23: no notifier 'consle'; configured: console"
        ]

    def test_durations_and_defaults(self) -> None:
        """`after` takes a duration; dead letters alert by default."""
        config = load_config_text(
            "notifiers:\n  console: {type: console}\nselfwatch: {notifier: console, after: 2m}\n"
        )
        assert config.selfwatch == SelfWatchConfig(notifier="console", after=120.0)
        assert config.selfwatch.dead_letters is True


# -- against the running daemon ----------------------------------------------


@pytest.fixture
def app_log(tmp_path: Path) -> Iterator[AppLog]:
    (tmp_path / "logs").mkdir()
    log = AppLog(tmp_path / "logs" / "app.log")
    log.info("service started")
    yield log
    log.close()


def write_config(tmp_path: Path, httpserver: HTTPServer, *, after: str) -> Path:
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"""
state_dir: {tmp_path / "state"}
host: test-host
sources:
  - name: app
    paths: ["{tmp_path / "logs"}/*.log"]
rules:
  - name: tracebacks
    match: {{traceback: true}}
    notify: [hook]
notifiers:
  hook: {{type: webhook, url: "{httpserver.url_for("/alerts")}"}}
  fallback: {{type: webhook, url: "{httpserver.url_for("/selfwatch")}"}}
selfwatch: {{notifier: fallback, after: {after}}}
delivery: {{initial_backoff: 100ms, max_backoff: 200ms, timeout: 2s}}
""",
        encoding="utf-8",
    )
    return config


class TestSelfWatchInTheDaemon:
    def test_webhook_answering_500_is_reported_once_then_resolved(
        self, tmp_path: Path, httpserver: HTTPServer, app_log: AppLog
    ) -> None:
        """Webhook answers 500 for longer than `after`: one alert to the fallback, however
        many retries follow, and one `resolved` when it delivers again."""
        hook, fallback = Receiver(failing=True), Receiver()
        httpserver.expect_request("/alerts").respond_with_handler(hook.handle)
        httpserver.expect_request("/selfwatch").respond_with_handler(fallback.handle)
        config = write_config(tmp_path, httpserver, after="1s")
        with running_daemon(config, tmp_path):
            for order in range(3):
                app_log.exception(order)
            wait_for(lambda: fallback.count() >= 1, 15, "the selfwatch alert")
            seen = hook.failures
            # many more failed retries of the same incident: still one alert
            wait_for(lambda: hook.failures >= seen + 10, 15, "ten more failed retries")
            assert fallback.count() == 1
            firing = fallback.bodies[0]
            assert firing["rule"] == "logwatch-selfwatch"
            assert firing["status"] == "firing"
            assert firing["labels"]["notifier"] == "hook"
            assert "HTTP 500" in firing["text"] or "500" in firing["text"]
            hook.failing = False
            wait_for(lambda: hook.count() >= 3, 15, "the three alerts after recovery")
            wait_for(lambda: fallback.count() >= 2, 15, "the resolved notice")
        assert [body["status"] for body in fallback.bodies] == ["firing", "resolved"]

    def test_dead_letter_is_reported_once(
        self, tmp_path: Path, httpserver: HTTPServer, app_log: AppLog
    ) -> None:
        """A webhook answering 400 dead-letters each alert; the fallback hears of it once."""
        fallback = Receiver()
        httpserver.expect_request("/alerts").respond_with_data("no such hook", status=400)
        httpserver.expect_request("/selfwatch").respond_with_handler(fallback.handle)
        config = write_config(tmp_path, httpserver, after="1h")
        with running_daemon(config, tmp_path):
            app_log.exception(1)
            wait_for(lambda: fallback.count() >= 1, 15, "the selfwatch alert")
            app_log.exception(2)
            wait_for(
                lambda: sum(req.path == "/alerts" for req, _ in httpserver.log) >= 2,
                15, "the second alert to be dead-lettered too",
            )
            assert fallback.count() == 1
        assert "dead-lettered" in fallback.bodies[0]["title"]
