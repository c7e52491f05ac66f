"""Rules, routing and the alert lifecycle, through the public config (YAML -> engine / replay)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from logwatch.config import config_schema
from logwatch.errors import ConfigError
from logwatch.model import AlertStatus, Severity
from logwatch.rules import Decision, LabelMatcher, RuleEngine, SilenceStore, SqliteRuleState
from tests.rules_support import (
    Log,
    at,
    config,
    delivered,
    distinct_error,
    engine,
    events,
    replay,
    run,
    sent,
)

NOTIFIERS = """
notifiers:
  pager: {type: webhook, url: "http://127.0.0.1:9/pager"}
  chat: {type: webhook, url: "http://127.0.0.1:9/chat"}
  log: {type: console}
"""

GRADING = (
    """
rules:
  - name: graded
    match: {min_level: WARNING}
routes:
  - matchers: [severity=critical]
    notify: [pager]
    continue: true
  - matchers: ['severity=~"error|critical"']
    notify: [chat]
  - notify: [log]
"""
    + NOTIFIERS
)


def problems(yaml_text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config(yaml_text)
    return [str(problem) for problem in caught.value.problems]


class TestConfigChecks:
    def test_bad_group_by_fails_check_at_its_value(self) -> None:
        """A group_by field the engine cannot use is a config problem, located."""
        text = "rules:\n  - name: r\n    match: {}\n    group_by: [fingerprnt]\n    notify: [log]\n"
        [problem] = problems(text + NOTIFIERS)
        assert problem.startswith("cfg.yaml:4:15: ")
        assert "cannot group by 'fingerprnt'" in problem

    def test_unknown_time_interval_is_named(self) -> None:
        """mute_during must name a configured time interval."""
        text = "rules:\n  - {name: r, match: {}, notify: [log], mute_during: [nights]}\n"
        [problem] = problems(text + NOTIFIERS)
        assert "no time interval 'nights'; configured: none" in problem

    def test_bad_time_interval_fails_with_a_remedy(self) -> None:
        """An interval over midnight must be split; check says how."""
        text = 'time_intervals:\n  nights:\n    - times: [{start: "22:00", end: "06:00"}]\n'
        [problem] = problems(text + NOTIFIERS)
        assert problem.startswith("cfg.yaml:3:7: ")
        assert "split a range over midnight" in problem

    def test_template_syntax_error_is_located(self) -> None:
        """A broken template fails `logwatch check` at its value, with the template's line."""
        text = (
            "rules:\n  - name: r\n    match: {}\n    notify: [log]\n"
            "    template:\n      body: |\n        ok\n        {% if x %}never closed\n"
        )
        [problem] = problems(text + NOTIFIERS)
        assert problem.startswith("cfg.yaml:6:13: ")
        assert "template syntax error on line 2" in problem

    def test_notifier_template_is_checked_too(self) -> None:
        """A notifier's own template is validated like a rule's."""
        text = 'notifiers:\n  log: {type: console, template: {title: "{{ title "}}\n'
        [problem] = problems("rules: []\n" + text)
        assert problem.startswith("cfg.yaml:3:42: ")
        assert "template syntax error" in problem

    def test_rule_without_notify_needs_routes(self) -> None:
        """Without routes, an alerting rule must name its notifiers; with routes it may not."""
        assert problems("rules:\n  - {name: r, match: {}}\n" + NOTIFIERS)
        config("rules:\n  - {name: r, match: {}}\nroutes:\n  - notify: [log]\n" + NOTIFIERS)

    def test_route_notifier_names_are_checked(self) -> None:
        text = "rules:\n  - {name: r, match: {}}\nroutes:\n  - routes:\n      - notify: [slak]\n"
        [problem] = problems(text + NOTIFIERS)
        assert problem.startswith("cfg.yaml:5:18: no notifier 'slak'")

    def test_regression_needs_resolve_after(self) -> None:
        text = "rules:\n  - {name: r, match: {}, notify: [log], notify_on: [regression]}\n"
        [problem] = problems(text + NOTIFIERS)
        assert "regression needs resolve_after" in problem


    def test_schema_describes_the_new_keys_and_every_reference_resolves(self) -> None:
        """`logwatch schema` stays valid: routes, time_intervals, redact, templates."""
        schema = config_schema()
        assert {"routes", "time_intervals", "redact"} <= set(schema["properties"])
        refs = set(re.findall(r'"\$ref": "#/\$defs/([^"]+)"', json.dumps(schema)))
        assert refs <= set(schema["$defs"])
        rule = schema["$defs"]["RuleConfig"]["properties"]
        assert {"notify_on", "group_wait", "template", "labels", "mute_during"} <= set(rule)
        slack = schema["$defs"]["notifier-slack"]["properties"]
        assert slack["template"] == {"$ref": "#/$defs/TemplateConfig"}


class TestRedaction:
    def test_configured_patterns_mask_every_part_of_the_alert(self) -> None:
        """`redact.patterns` adds to the defaults, in text, title, fields and context."""
        log = Log().at(0)
        log.logger.info("lookup customer=4711")
        log.logger.error("refund for customer=4711 failed, password=hunter2")
        yaml_text = (
            "redact: {patterns: ['customer=(\\d+)']}\n"
            "sources: [{name: app, paths: [app.log], context_lines: 1}]\n"
            "rules:\n  - {name: r, match: {message: 'refund for customer=(?P<id>\\d+)'},"
            " notify: [log]}\n"
            + NOTIFIERS
        )
        [alert] = sent(run(engine(yaml_text), events(log.text())))
        body = json.dumps(alert.payload())
        assert "4711" not in body
        assert "hunter2" not in body
        assert alert.title == "refund for customer=*** failed, password=***"
        assert alert.fields == {"id": "***"}

    def test_defaults_can_be_turned_off(self) -> None:
        log = Log()
        log.logger.error("login with password=hunter2")
        yaml_text = (
            "redact: {defaults: false}\nrules:\n  - {name: r, match: {}, notify: [log]}\n"
            + NOTIFIERS
        )
        [alert] = sent(run(engine(yaml_text), events(log.text())))
        assert "hunter2" in alert.title


class TestMatching:
    def test_named_groups_are_fields_for_group_by_and_labels(self) -> None:
        """`(?P<db>...)` in the message regex: a field, a group key and a label."""
        log = Log()
        for seconds, db in ((0, "orders"), (1, "orders"), (2, "users")):
            log.at(seconds).logger.error("cannot reach db=%s", db)
        yaml_text = (
            "rules:\n  - name: db\n    match: {message: 'db=(?P<db>\\w+)'}\n"
            "    group_by: [fields.db]\n    cooldown: 1h\n"
            "    labels: {database: '{{ fields.db }}', team: payments}\n"
            "    notify: [log]\n" + NOTIFIERS
        )
        decisions = list(run(engine(yaml_text), events(log.text())))
        assert [d.suppressed for d in decisions] == [None, "cooldown", None]
        alerts = sent(decisions)
        assert [a.fields["db"] for a in alerts] == ["orders", "users"]
        assert alerts[1].labels == {"database": "users", "team": "payments"}

    def test_function_and_module_match_in_app_frames(self) -> None:
        """`match.function` / `match.module` look at the application's own frames."""
        log = Log().exception("payment failed", ValueError("declined"))
        text = log.text()
        rule = "rules:\n  - {name: r, match: %s, notify: [log]}\n" + NOTIFIERS
        matching = ("{function: [charge]}", "{module: ['tests.rules_*']}", "{function: 'ch*'}")
        for match in matching:
            assert sent(run(engine(rule % match), events(text))), match
        for match in ("{function: [refund]}", "{module: ['shop.*']}"):
            assert not sent(run(engine(rule % match), events(text))), match

    def test_fields_of_json_records_by_glob_or_regex(self) -> None:
        """`match.fields` takes a glob, or a regex after `re:`; nested names use dots."""
        records = [
            {"time": "2026-03-02T09:00:00Z", "level": "ERROR", "message": "upstream",
             "status": 503, "http": {"path": "/pay"}},
            {"time": "2026-03-02T09:00:01Z", "level": "ERROR", "message": "upstream",
             "status": 404, "http": {"path": "/pay"}},
        ]
        text = "".join(json.dumps(record) + "\n" for record in records)
        rule = "rules:\n  - {name: r, match: {fields: %s}, notify: [log]}\n" + NOTIFIERS
        for match, expected in (
            ("{status: 're:^5\\d\\d$'}", [503]),
            ("{status: '4*'}", [404]),
            ("{http.path: '/pay'}", [503, 404]),
            ("{http.path: '/refund'}", []),
        ):
            alerts = sent(run(engine(rule % match), events(text)))
            assert [a.fields.get("status") for a in alerts] == expected, match

    def test_min_level(self) -> None:
        """`min_level: WARNING` takes WARNING and above; a bare traceback counts as ERROR."""
        log = Log()
        log.logger.info("fine")
        log.logger.warning("slow")
        log.logger.critical("down")
        rule = "rules:\n  - {name: r, match: {min_level: WARNING}, notify: [log]}\n" + NOTIFIERS
        alerts = sent(run(engine(rule), events(log.text())))
        assert [a.level for a in alerts] == ["WARNING", "CRITICAL"]


class TestRouting:
    def test_critical_pages_error_goes_to_chat_warning_is_logged(self) -> None:
        """The grading, written once in `routes:`."""
        log = Log()
        log.at(0).logger.warning("slow")
        log.at(1).logger.error("failed")
        log.at(2).logger.critical("down")
        alerts = sent(run(engine(GRADING), events(log.text())))
        routed = [(a.severity, a.notifiers) for a in alerts]
        assert routed == [
            (Severity.WARNING, ("log",)),
            (Severity.ERROR, ("chat",)),
            (Severity.CRITICAL, ("pager",)),
            (Severity.CRITICAL, ("chat",)),
        ]

    def test_no_matching_route_is_no_route(self) -> None:
        """A rule without notify whose alert no route takes is suppressed `no-route`."""
        log = Log()
        log.logger.warning("slow")
        yaml_text = (
            "rules:\n  - {name: r, match: {}}\n"
            "routes:\n  - {matchers: [severity=critical], notify: [pager]}\n" + NOTIFIERS
        )
        [decision] = run(engine(yaml_text), events(log.text()))
        assert (decision.alert, decision.suppressed) == (None, "no-route")

    def test_nested_routes_inherit_and_match_labels(self) -> None:
        """A child route inherits notify and timers; it matches on configured labels too."""
        log = Log()
        log.logger.error("failed")
        yaml_text = (
            "labels: {team: payments}\nrules:\n  - {name: r, match: {}}\n"
            "routes:\n  - matchers: [severity=error]\n    notify: [chat]\n"
            "    routes:\n      - matchers: [team=payments, 'rule=~\"r|s\"']\n" + NOTIFIERS
        )
        [alert] = sent(run(engine(yaml_text), events(log.text())))
        assert alert.notifiers == ("chat",)

    def test_rule_notify_wins_over_routes(self) -> None:
        log = Log()
        log.logger.critical("down")
        yaml_text = GRADING.replace("match: {min_level: WARNING}", "match: {}\n    notify: [log]")
        [alert] = sent(run(engine(yaml_text), events(log.text())))
        assert alert.notifiers == ("log",)


class TestNotifyOn:
    YAML = (
        "rules:\n  - name: bugs\n    match: {traceback: true}\n"
        "    notify_on: [new, regression]\n    resolve_after: 10m\n    notify: [chat]\n"
        + NOTIFIERS
    )

    def test_new_then_quiet_then_regression(self, tmp_path: Path) -> None:
        """A new fingerprint alerts once; after it resolved, its return alerts as a regression."""
        log = Log()
        for seconds in (0, 60, 120):
            log.at(seconds).exception("payment failed", ValueError("declined"))
        log.at(3600).exception("payment failed", ValueError("declined"))
        state = SqliteRuleState(tmp_path / "state.db")
        decisions = list(run(engine(self.YAML, state=state), events(log.text())))
        reasons = [(d.suppressed, d.alert.status if d.alert else None) for d in decisions]
        assert reasons == [
            (None, AlertStatus.FIRING),  # new
            ("seen-before", None),
            ("seen-before", None),
            (None, AlertStatus.RESOLVED),  # quiet for resolve_after: tick before the next
            (None, AlertStatus.FIRING),  # regression
        ]
        state.close()

    def test_known_fingerprints_survive_a_restart(self, tmp_path: Path) -> None:
        """`new` means new to this host: a restarted daemon does not call it new again."""
        first, second = Log(), Log()
        first.at(0).exception("payment failed", ValueError("declined"))
        second.at(30).exception("payment failed", ValueError("declined"))
        db = tmp_path / "state.db"
        state = SqliteRuleState(db)
        assert sent(run(engine(self.YAML, state=state), events(first.text())))
        state.close()
        state = SqliteRuleState(db)
        log_events = events(second.text(), path="/srv/shop/other.log")
        [decision] = run(engine(self.YAML, state=state), log_events)
        assert decision.suppressed == "seen-before"
        state.close()


class TestStorms:
    def test_thousand_identical_tracebacks_send_one_alert_then_the_count(self) -> None:
        """1,000 identical tracebacks in ten seconds: one alert, then one carrying 999."""
        log = Log()
        for index in range(1000):
            log.at(index * 0.01).exception("payment failed", ValueError("declined"))
        yaml_text = (
            "rules:\n  - {name: r, match: {traceback: true}, cooldown: 1m, notify: [chat]}\n"
            + NOTIFIERS
        )
        records = replay(yaml_text, log.text())
        suppressed = [record["suppressed"] for record in records]
        assert suppressed.count("cooldown") == 999
        first, summary = delivered(records)
        assert (first["count"], summary["count"]) == (1, 999)
        assert summary["by_time"] is True

    def test_a_replayed_storm_ticks_the_rules_only_when_something_falls_due(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Nothing of a 1m cooldown comes due within ten seconds: the rules are ticked
        for the summary after the last record, not before each of 1,000 records."""
        ticks: list[datetime] = []
        tick = RuleEngine.tick

        def counted(rules: RuleEngine, now: datetime) -> list[Decision]:
            ticks.append(now)
            return tick(rules, now)

        monkeypatch.setattr(RuleEngine, "tick", counted)
        log = Log()
        for index in range(1000):
            log.at(index * 0.01).exception("payment failed", ValueError("declined"))
        log.at(61).exception("payment failed", ValueError("declined"))  # after the cooldown
        yaml_text = (
            "rules:\n  - {name: r, match: {traceback: true}, cooldown: 1m, notify: [chat]}\n"
            + NOTIFIERS
        )
        records = replay(yaml_text, log.text())
        assert [record["count"] for record in delivered(records)] == [1, 999, 1]
        assert len(ticks) <= 4, ticks

    def test_five_hundred_different_errors_in_a_second_become_a_few_digests(self) -> None:
        """With group_wait, 500 different errors in one second send one digest per notifier."""
        log = Log()
        for index in range(500):
            log.at(index * 0.002).exception("worker failed", distinct_error(index))
        records = replay(GRADING.replace("notify: [chat]", "notify: [chat]\n    group_wait: 5s"),
                         log.text())
        messages = delivered(records)
        assert len(records) == 501
        [digest] = messages
        assert digest["count"] == 500
        assert digest["title"].startswith("500 errors: Failure0: worker 0 failed; ")
        assert digest["notifiers"] == ["chat"]

    def test_group_interval_batches_what_comes_after_the_first_digest(self) -> None:
        """After the first flush, later alerts wait for group_interval, then go as one."""
        log = Log()
        for index in range(30):
            log.at(index).exception("worker failed", distinct_error(index))
        yaml_text = (
            "rules:\n  - {name: r, match: {}, notify: [chat], group_wait: 5s,"
            " group_interval: 1m}\n" + NOTIFIERS
        )
        rules = engine(yaml_text)
        decisions = list(run(rules, events(log.text())))
        decisions += rules.tick(at(100))
        messages = sent(decisions)
        assert [m.count for m in messages] == [5, 25]  # 0-4 s after 5 s, the rest 1 min later

    def test_a_batch_of_one_is_the_alert_itself(self) -> None:
        log = Log()
        log.at(0).exception("worker failed", distinct_error(1))
        yaml_text = "rules:\n  - {name: r, match: {}, notify: [chat], group_wait: 5s}\n" + NOTIFIERS
        rules = engine(yaml_text)
        [held] = run(rules, events(log.text()))
        assert held.suppressed == "grouped"
        assert rules.tick(at(4.9)) == []
        [alert] = sent(rules.tick(at(5)))
        assert alert.title == "Failure1: worker 1 failed"

    def test_cooldown_grows_while_the_storm_goes_on(self) -> None:
        """cooldown_growth: summaries after 1m, 2m, then 4m (the max) of one long storm."""
        log = Log()
        for second in range(0, 900, 5):
            log.at(second).exception("payment failed", ValueError("declined"))
        yaml_text = (
            "rules:\n  - {name: r, match: {}, notify: [chat], cooldown: 1m,"
            " cooldown_growth: {max: 4m, factor: 2}}\n" + NOTIFIERS
        )
        alerts = sent(run(engine(yaml_text), events(log.text())))
        # one occurrence every 5 s: a summary counts cooldown / 5 s of them
        assert [a.count for a in alerts][:5] == [1, 11, 24, 48, 48]


class TestResolve:
    def test_resolved_follows_resolve_after_of_quiet(self) -> None:
        """Quiet for resolve_after: a `resolved` notice, routed like the alert."""
        log = Log()
        log.at(0).logger.error("disk full")
        log.at(30).logger.error("disk full")
        yaml_text = GRADING.replace("match: {min_level: WARNING}",
                                    "match: {min_level: WARNING}\n    resolve_after: 15m")
        rules = engine(yaml_text)
        assert len(sent(run(rules, events(log.text())))) == 2
        assert rules.tick(at(30 + 899)) == []
        [resolved] = sent(rules.tick(at(30 + 900)))
        assert (resolved.status, resolved.count, resolved.notifiers) == (
            AlertStatus.RESOLVED, 2, ("chat",)
        )


class TestResolveAcrossAReload:
    """A rule renamed or removed by a reload: its open incidents still get `resolved`."""

    def test_a_renamed_rule_resolves_its_incident_where_it_was_routed(
        self, tmp_path: Path
    ) -> None:
        """Routed to pager and chat, renamed, and every route now going to log: pager
        and chat get the `resolved` notice of the old name, chat in its own wording,
        when the old rule would have sent it; the new name opens an incident of its own."""
        log = Log()
        log.at(0).logger.critical("disk full")
        yaml_text = GRADING.replace(
            "match: {min_level: WARNING}", "match: {min_level: WARNING}\n    resolve_after: 15m"
        ).replace(
            '  chat: {type: webhook, url: "http://127.0.0.1:9/chat"}',
            '  chat: {type: webhook, url: "http://127.0.0.1:9/chat",'
            ' template: {title: "[{{ status }}] {{ title }}"}}',
        )
        state = SqliteRuleState(tmp_path / "state.db")
        firing = sent(run(engine(yaml_text, state=state), events(log.text())))
        assert [a.notifiers for a in firing] == [("pager",), ("chat",)]

        renamed = yaml_text.replace("name: graded", "name: levels").replace(
            "notify: [pager]", "notify: [log]").replace("notify: [chat]", "notify: [log]")
        rules = engine(renamed, state=state)
        again = Log()
        again.at(60).logger.critical("disk full")
        [new] = sent(run(rules, events(again.text(), path="/srv/shop/other.log")))
        assert (new.rule, new.notifiers) == ("levels", ("log",))
        assert rules.tick(at(899)) == []
        [decision] = rules.tick(at(900))
        assert (decision.rule, decision.notifiers) == ("graded", ("pager", "chat"))
        assert decision.alert_for("pager").status is AlertStatus.RESOLVED
        assert decision.alert_for("chat").title == "[resolved] disk full"
        [other] = sent(rules.tick(at(60 + 900)))
        assert (other.rule, other.notifiers) == ("levels", ("log",))
        state.close()


class TestQuietHours:
    YAML = (
        "time_intervals:\n  nights:\n"
        "    - times: [{start: '22:00', end: '24:00'}, {start: '00:00', end: '07:00'}]\n"
        "      location: America/New_York\n"
        "rules:\n  - {name: r, match: {}, notify: [chat], %s: [nights]}\n" + NOTIFIERS
    )

    @pytest.mark.parametrize(
        ("utc_hour", "muted"),
        [(2, False), (3, True), (10, True), (11, True), (12, False), (23, False)],
    )
    def test_mute_during_follows_the_intervals_zone(self, utc_hour: int, muted: bool) -> None:
        """22:00-07:00 in New York (UTC-5 in March before DST): 03:00-12:00 UTC is muted."""
        log = Log()
        log.at(utc_hour * 3600 - 9 * 3600).logger.error("failed")  # T0 is 09:00 UTC
        [decision] = run(engine(self.YAML % "mute_during"), events(log.text()))
        assert (decision.suppressed == "silenced") is muted

    def test_active_during_is_the_opposite(self) -> None:
        log = Log()
        log.at(-9 * 3600 + 4 * 3600).logger.error("at night")  # 04:00 UTC = 23:00 New York
        log.at(-9 * 3600 + 15 * 3600).logger.error("by day")  # 15:00 UTC = 10:00 New York
        decisions = list(run(engine(self.YAML % "active_during"), events(log.text())))
        assert [d.suppressed for d in decisions] == [None, "silenced"]

    def test_route_mute_keeps_the_pager_awake(self) -> None:
        """A muted chat route sends nothing at night while the pager route still does."""
        log = Log()
        log.at(-9 * 3600 + 4 * 3600).logger.critical("down")  # 23:00 in New York
        yaml_text = (
            self.YAML.split("rules:")[0]
            + GRADING.replace("notify: [chat]", "notify: [chat]\n    mute_during: [nights]")
        )
        alerts = sent(run(engine(yaml_text), events(log.text())))
        assert [a.notifiers for a in alerts] == [("pager",)]


    EVENING = -9 * 3600 + 3 * 3600 - 300  # 02:55 UTC: 21:55 in New York, before the nights

    def test_a_cooldown_summary_due_in_quiet_hours_is_muted(self) -> None:
        """Held back at 21:56, the count due at 22:05 is muted; after it, alerts start afresh."""
        log = Log()
        for seconds in (self.EVENING, self.EVENING + 60, self.EVENING + 10 * 3600):
            log.at(seconds).exception("charge failed", ConnectionError("gateway timeout"))
        yaml_text = (self.YAML % "mute_during").replace(
            "notify: [chat]", "notify: [chat], cooldown: 10m"
        )
        rules = engine(yaml_text)
        first, held, morning = events(log.text())
        assert [d.suppressed for d in run(rules, [first, held])] == [None, "cooldown"]
        assert rules.tick(at(self.EVENING + 600)) == []
        [alert] = sent(run(rules, [morning]))  # 07:55 in New York
        assert alert.count == 1

    def test_a_batch_due_in_quiet_hours_is_muted(self) -> None:
        """A batch opened at 21:55 on a route muted at night is not sent at 22:05."""
        log = Log()
        log.at(self.EVENING).exception("charge failed", ConnectionError("gateway timeout"))
        yaml_text = self.YAML.split("rules:")[0] + (
            "rules:\n  - {name: r, match: {}}\n"
            "routes:\n  - {notify: [chat], group_wait: 10m, mute_during: [nights]}\n"
        ) + NOTIFIERS
        rules = engine(yaml_text)
        assert [d.suppressed for d in run(rules, events(log.text()))] == ["grouped"]
        assert rules.tick(at(self.EVENING + 600)) == []


class TestSilences:
    def test_silence_stops_a_rule_and_its_expiry_restores_it(self, tmp_path: Path) -> None:
        """The store the CLI writes mutes matching alerts until it ends or is expired."""
        log = Log()
        for seconds in (0, 60, 120):
            log.at(seconds).logger.error("failed")
        store = SilenceStore(tmp_path / "state.db")
        silence = store.add(
            [LabelMatcher.parse("rule=r"), LabelMatcher.parse("severity=~err.*")],
            starts_at=at(-1), ends_at=at(3600), comment="deploy",
        )
        yaml_text = "rules:\n  - {name: r, match: {}, notify: [chat]}\n" + NOTIFIERS
        rules = engine(yaml_text, silences=store)
        log_events = events(log.text())
        first = rules.evaluate(log_events[0], at(0))
        store.expire(silence.id, at(30))
        second = rules.evaluate(log_events[1], at(60))
        assert [d.suppressed for d in (*first, *second)] == ["silenced", None]
        store.close()


class TestTemplates:
    YAML = (
        "rules:\n  - name: r\n    match: {message: 'order (?P<order>\\d+)'}\n"
        "    context_lines: 2\n    notify: [chat, log]\n"
        "    template:\n      title: '{{ severity | upper }} {{ fields.order }}: {{ title }}'\n"
        "notifiers:\n"
        "  chat:\n    type: webhook\n    url: http://127.0.0.1:9/chat\n"
        "    template:\n      title: 'chat: {{ title }}'\n"
        "      body: |\n        {{ count }}x on {{ host }} ({{ notifier }})\n"
        "        {% for line in context %}> {{ line }}\n        {% endfor %}{{ text }}\n"
        "  log: {type: console}\n"
    )

    def test_each_notifier_gets_its_wording_rule_title_first(self) -> None:
        """The rule's title wins over the notifier's; the notifier's body applies."""
        log = Log()
        log.at(0).logger.info("cart opened")
        log.at(1).logger.info("checkout")
        log.at(2).logger.error("order 42 failed")
        log_events = events(log.text(), context_lines=2)
        [decision] = [d for d in run(engine(self.YAML), log_events) if d.alert]
        chat, console = decision.alert_for("chat"), decision.alert_for("log")
        assert chat.title == console.title == "ERROR 42: order 42 failed"
        assert chat.text.startswith("1x on ")
        assert "> 2026-03-02 09:00:00,000 INFO" in chat.text
        assert chat.text.rstrip().endswith("order 42 failed")
        assert decision.alert is not None
        assert console.text == decision.alert.text  # no body template: the event itself

    def test_log_text_is_never_template_source(self) -> None:
        """`{{ ... }}` and `{% ... %}` in a log line arrive as those characters."""
        hostile = "order 7 {{ ''.__class__.__mro__ }} {% for x in range(3) %}x{% endfor %}"
        log = Log()
        log.at(0).logger.error(hostile)
        [decision] = [d for d in run(engine(self.YAML), events(log.text())) if d.alert]
        chat = decision.alert_for("chat")
        assert hostile in chat.title
        assert hostile in chat.text

    def test_a_template_that_fails_keeps_the_alert(self) -> None:
        """A variable this alert lacks: built-in wording, with the error on top of the body."""
        log = Log()
        log.logger.error("no order here")
        yaml_text = (
            "rules:\n  - name: r\n    match: {}\n    notify: [log]\n"
            "    template: {title: '{{ fields.order }}'}\n" + NOTIFIERS
        )
        [decision] = run(engine(yaml_text), events(log.text()))
        alert = decision.alert_for("log")
        assert alert.title == "no order here"
        assert alert.text.startswith("[logwatch: template of rule 'r' failed:")


class TestContextLines:
    YAML = (
        "sources: [{name: app, paths: ['*.log'], context_lines: 2}]\n"
        "rules:\n  - {name: r, match: {traceback: true}, notify: [log]}\n"
        "  - {name: s, match: {level: CRITICAL}, context_lines: 0, notify: [log]}\n" + NOTIFIERS
    )

    def test_the_lines_before_the_event_travel_with_it_redacted(self) -> None:
        """`context_lines: 2` on the source: the two lines before the event, masked."""
        log = Log()
        log.at(0).logger.info("one")
        log.at(1).logger.info("token=abc123secret")
        log.at(2).logger.info("three")
        log.at(3).exception("payment failed", ValueError("declined"))
        [alert] = sent(run(engine(self.YAML), events(log.text(), context_lines=2)))
        assert [line.split(f" INFO {log.logger.name} ")[1] for line in alert.context] == [
            "token=***",
            "three",
        ]
        assert alert.payload()["context"] == list(alert.context)

    def test_a_rule_can_ask_for_fewer(self) -> None:
        log = Log()
        log.at(0).logger.info("one")
        log.at(1).logger.critical("down")
        [alert] = sent(run(engine(self.YAML), events(log.text(), context_lines=2)))
        assert alert.context == ()
        assert "context" not in alert.payload()


class TestResolveAfterABatch:
    """A `resolved` notice never goes out before the alert it resolves: found by the
    rules audit with resolve_after 2m and a group_interval of 5m (PagerDuty would
    have been left with an incident that nothing resolves)."""

    @pytest.mark.parametrize("timers", [
        "notify: [chat], group_wait: 0s, group_interval: 5m",  # the rule's own
        "group_interval: 5m",  # the rule's, over its routes'
    ])
    def test_the_batched_alert_goes_first(self, timers: str) -> None:
        log = Log()
        log.at(0).exception("payment failed", ValueError("declined"))
        log.at(10).exception("payment failed", ValueError("declined"))
        yaml_text = (
            f"rules:\n  - {{name: r, match: {{}}, resolve_after: 2m, {timers}}}\n"
            "routes:\n  - notify: [chat]\n" + NOTIFIERS
        )
        rules = engine(yaml_text)
        first = sent(run(rules, events(log.text())))
        statuses = [a.status for a in first]
        for second in range(11, 700):
            statuses += [a.status for a in sent(rules.tick(at(second)))]
        assert statuses == [AlertStatus.FIRING, AlertStatus.FIRING, AlertStatus.RESOLVED]

    def test_a_route_that_batches_longer_delays_the_resolve(self) -> None:
        """resolve_after 1m under a route batching for 3m: the resolve waits the 3m and a
        tick, counted from the last occurrence, as the batch does at the latest."""
        log = Log()
        log.at(0).exception("payment failed", ValueError("declined"))
        log.at(10).exception("payment failed", ValueError("declined"))
        yaml_text = (
            "rules:\n  - {name: r, match: {}, resolve_after: 1m}\n"
            "routes:\n  - {notify: [chat], group_interval: 3m}\n" + NOTIFIERS
        )
        rules = engine(yaml_text)
        seen = [(0, a.status) for a in sent(run(rules, events(log.text())))]
        for second in range(11, 400):
            seen += [(second, a.status) for a in sent(rules.tick(at(second)))]
        assert seen == [
            (0, AlertStatus.FIRING),  # the first goes at once, the next waits for 3m
            (180, AlertStatus.FIRING),
            (10 + 180 + 1, AlertStatus.RESOLVED),
        ]
