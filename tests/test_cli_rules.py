"""`logwatch test`, `logwatch silence` and `check` on the rules part, as an operator runs them."""

from __future__ import annotations

import base64
import codecs
import json
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logwatch.rules import parse_matcher
from logwatch.rules.silence_store import SilenceStore
from logwatch.store import DB_NAME
from tests.daemon_harness import logwatch
from tests.rules_support import Log, killed_traceback

GRADING = Path(__file__).parent.parent / "examples" / "grading.yaml"


def write_log(tmp_path: Path) -> str:
    log = Log()
    log.at(0).logger.warning("slow")
    log.at(1).logger.error("failed")
    log.at(2).logger.critical("down")
    return log.text()


def block(text: str, indent: int) -> str:
    return "\n".join(" " * indent + line for line in text.splitlines())


class TestRuleTests:
    def test_passing_file_exits_zero(self, tmp_path: Path) -> None:
        """Expectations that hold: `ok` per test and exit status 0."""
        test_file = tmp_path / "grading-test.yaml"
        test_file.write_text(
            f"config: {GRADING}\n"
            "tests:\n"
            "  - name: graded by level\n"
            "    input: |\n" + block(write_log(tmp_path), 6) + "\n"
            "    expect:\n"
            "      - {rule: graded, severity: warning, notifiers: [log]}\n"
            "      - {rule: graded, severity: critical, notifiers: [pager]}\n"
            "      - {rule: graded, severity: critical, notifiers: [chat], count: 2,\n"
            "         title: '2 errors: failed; down'}\n",
            encoding="utf-8",
        )
        result = logwatch("test", str(test_file))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "ok    " in result.stdout
        assert "1 passed, 0 failed" in result.stdout

    def test_failing_expectation_prints_a_diff_and_exits_one(self, tmp_path: Path) -> None:
        """A wrong expectation: a unified diff of expected and actual, exit status 1."""
        test_file = tmp_path / "t.yaml"
        test_file.write_text(
            "config:\n"
            "  rules:\n"
            "    - {name: errors, match: {level: ERROR}, severity: error, notify: [log]}\n"
            "  notifiers: {log: {type: console}}\n"
            "input: |\n" + block(write_log(tmp_path), 2) + "\n"
            "expect:\n"
            "  - {rule: errors, severity: critical}\n",
            encoding="utf-8",
        )
        result = logwatch("test", str(test_file))
        assert result.returncode == 1
        assert "FAIL  " in result.stdout
        assert "--- expected\n+++ actual\n" in result.stdout
        assert "-  severity: critical\n+  severity: error" in result.stdout

    def test_suppressed_decisions_can_be_expected(self, tmp_path: Path) -> None:
        """`include: all` compares suppressed decisions as well (here the cooldown)."""
        log = Log()
        for second in range(3):
            log.at(second).logger.error("failed")
        test_file = tmp_path / "t.yaml"
        test_file.write_text(
            "config:\n"
            "  rules: [{name: e, match: {}, cooldown: 1m, notify: [log]}]\n"
            "  notifiers: {log: {type: console}}\n"
            "include: all\n"
            "input: |\n" + block(log.text(), 2) + "\n"
            "expect:\n"
            "  - {suppressed: null}\n  - {suppressed: cooldown}\n  - {suppressed: cooldown}\n"
            "  - {count: 2, suppressed: null}\n",
            encoding="utf-8",
        )
        result = logwatch("test", str(test_file))
        assert result.returncode == 0, result.stdout

    def test_inline_config_problem_is_located_in_the_test_file(self, tmp_path: Path) -> None:
        test_file = tmp_path / "t.yaml"
        test_file.write_text(
            "config:\n  rules: [{name: e, match: {}, notify: [nope]}]\n"
            "input: 'x'\nexpect: []\n",
            encoding="utf-8",
        )
        result = logwatch("test", str(test_file))
        assert result.returncode == 1
        assert result.stderr.startswith(f"{test_file}:2:41: no notifier 'nope'")


    def test_a_test_file_nested_too_deeply_is_an_error_not_a_traceback(
        self, tmp_path: Path
    ) -> None:
        test_file = tmp_path / "t.yaml"
        test_file.write_text("input: " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
        result = logwatch("test", str(test_file))
        assert result.returncode == 1
        assert result.stderr == f"{test_file}: cannot read: collections nested too deeply\n"


class TestExamples:
    def test_shipped_rule_tests_pass(self) -> None:
        """examples/grading-test.yaml documents the grading; it must keep passing."""
        result = logwatch("test", str(GRADING.with_name("grading-test.yaml")))
        assert result.returncode == 0, result.stdout + result.stderr

    def test_replay_of_the_sample_log_shows_the_grading(self, tmp_path: Path) -> None:
        """The README's walk-through: the sample log replayed through examples/grading.yaml."""
        sample = tmp_path / "grading.log"
        made = subprocess.run(
            [sys.executable, str(GRADING.with_name("grading_log.py")), str(sample)],
            check=True, capture_output=True, text=True,
        )
        assert made.returncode == 0
        result = logwatch("replay", "--json", "-c", str(GRADING), str(sample))
        records = [json.loads(line) for line in result.stdout.splitlines()]
        sent = [(r["severity"], r["notifiers"]) for r in records if r["suppressed"] is None]
        assert ("warning", ["log"]) in sent
        assert ("critical", ["pager"]) in sent
        assert {tuple(n) for s, n in sent if s in ("error", "critical")} == {("chat",), ("pager",)}
        assert len(sent) <= 8  # 50 identical tracebacks and 13 different errors included
        assert "hunter2" not in result.stdout
        assert "s3cr3t" not in result.stdout


    def test_replay_without_c_reads_logwatch_config_else_its_own(self, tmp_path: Path) -> None:
        """$LOGWATCH_CONFIG names the operator's config; unset, the built-in one applies."""
        sample = tmp_path / "grading.log"
        sample.write_text(write_log(tmp_path), encoding="utf-8")

        def rules(env: dict[str, str]) -> set[str]:
            result = logwatch("replay", "--json", str(sample), env=env)
            assert result.returncode == 0, result.stderr
            return {json.loads(line)["rule"] for line in result.stdout.splitlines()}

        assert rules({"LOGWATCH_CONFIG": str(GRADING)}) == {"graded"}
        assert rules({"LOGWATCH_CONFIG": ""}) == {"error"}  # ERROR and CRITICAL, built in
        missing = logwatch("replay", str(sample), env={"LOGWATCH_CONFIG": str(tmp_path / "no")})
        assert missing.returncode == 2
        assert "no" in missing.stderr

    def test_replay_shows_control_characters_of_log_lines_instead_of_writing_them(
        self, tmp_path: Path
    ) -> None:
        """A log line may not reset, recolour or overwrite the operator's terminal."""
        sample = tmp_path / "hostile.log"
        sample.write_text(
            "2026-01-01 12:00:00,001 ERROR app reset\x1bc hidden\rshown \x1bP1$r\x1b\\ \x9b2J\n",
            encoding="utf-8",
        )
        result = logwatch("replay", str(sample), env={"LOGWATCH_CONFIG": ""})
        assert result.returncode == 0, result.stderr
        assert re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", result.stdout) is None
        assert r"reset\x1bc hidden\x0dshown" in result.stdout

    def test_replay_without_c_alerts_on_a_traceback_cut_off_before_its_exception_line(
        self, tmp_path: Path
    ) -> None:
        """Built in, every traceback alerts: one whose worker was killed mid-print too,
        closed by the next record or by the end of the file."""
        sample = tmp_path / "worker.log"
        log = Log().at(0).write(killed_traceback())
        log.at(1).logger.info("worker restarted")
        sample.write_text(log.write(killed_traceback()).text(), encoding="utf-8")

        result = logwatch("replay", "--json", str(sample), env={"LOGWATCH_CONFIG": ""})
        plain = logwatch("replay", str(sample), env={"LOGWATCH_CONFIG": ""})

        assert result.returncode == plain.returncode == 0, result.stderr + plain.stderr
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert [(r["first_line"], r["rule"], r["severity"], r["suppressed"]) for r in records] == [
            (1, "traceback", "error", None), (9, "traceback", "error", None),
        ]
        for record in records:
            assert "cut" in record["flags"]
            assert re.fullmatch(
                r'Traceback cut off: File ".*worker\.py", line 2, in gateway', record["title"]
            )
        assert plain.stdout.count("[traceback] Traceback cut off: File ") == 2


class TestWithoutTheNotifiersSecrets:
    """`replay` and `test` send nothing: a notifier's secret, missing in a shell or in
    CI, does not stop them; `check` still wants it, and anything else still counts."""

    CONFIG = textwrap.dedent("""\
        rules:
          - {name: tracebacks, match: {traceback: true}, notify: [chat]}
        notifiers:
          chat:
            type: slack
            url: "${SLACK_WEBHOOK_URL}"
            template: {title: "{{ alert.rule }} ${TITLE_PREFIX:-}"}
        """)

    @pytest.fixture
    def files(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
        monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)  # the child gets this environment
        config = tmp_path / "logwatch.yaml"
        config.write_text(self.CONFIG, encoding="utf-8")
        log = tmp_path / "app.log"
        log.write_text(killed_traceback(), encoding="utf-8")
        rule_test = tmp_path / "rules-test.yaml"
        rule_test.write_text(
            "tests:\n  - name: a traceback alerts\n    input: |\n"
            + block(killed_traceback(), 6)
            + "\n    expect: [{rule: tracebacks, notifiers: [chat]}]\n",
            encoding="utf-8",
        )
        return {"config": config, "log": log, "test": rule_test}

    def test_replay_and_test_run_and_check_refuses(self, files: dict[str, Path]) -> None:
        replayed = logwatch("replay", "--json", "-c", str(files["config"]), str(files["log"]))
        assert replayed.returncode == 0, replayed.stderr
        [record] = [json.loads(line) for line in replayed.stdout.splitlines()]
        assert (record["rule"], record["notifiers"]) == ("tracebacks", ["chat"])

        tested = logwatch("test", "-c", str(files["config"]), str(files["test"]))
        assert tested.returncode == 0, tested.stdout + tested.stderr

        checked = logwatch("check", "-c", str(files["config"]))
        assert checked.returncode == 2
        assert "${SLACK_WEBHOOK_URL} is not set" in checked.stderr

    def test_a_shared_states_unset_url_does_not_stop_them_either(
        self, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The fleet's Redis url (its password) is the daemon's too: replay and test
        read no rule state from it."""
        monkeypatch.delenv("REDIS_URL", raising=False)
        files["config"].write_text(
            self.CONFIG + "state: {backend: redis, url: '${REDIS_URL}'}\n", encoding="utf-8"
        )
        replayed = logwatch("replay", "--json", "-c", str(files["config"]), str(files["log"]))
        assert replayed.returncode == 0, replayed.stderr
        assert '"rule": "tracebacks"' in replayed.stdout
        tested = logwatch("test", "-c", str(files["config"]), str(files["test"]))
        assert tested.returncode == 0, tested.stdout + tested.stderr
        checked = logwatch("check", "-c", str(files["config"]))
        assert checked.returncode == 2
        assert "${REDIS_URL} is not set" in checked.stderr

    @pytest.mark.parametrize("change", [
        # a variable outside a notifier's options: the config would read otherwise
        ("rules:\n", "sources: [{name: app, paths: ['${LOG_DIR}/*.log']}]\nrules:\n"),
        # a reference that is no variable's is a mistake whatever runs it
        ('url: "${SLACK_WEBHOOK_URL}"', 'url: "${SLACK_WEBHOOK_URL"'),
    ], ids=["unset-outside-notifiers", "malformed-reference"])
    def test_other_problems_still_stop_replay(
        self, files: dict[str, Path], change: tuple[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("LOG_DIR", raising=False)
        files["config"].write_text(self.CONFIG.replace(*change), encoding="utf-8")
        replayed = logwatch("replay", "--json", "-c", str(files["config"]), str(files["log"]))
        assert replayed.returncode == 2
        assert replayed.stdout == ""


class TestReplayMasking:
    @pytest.mark.parametrize(
        ("match", "flags"),
        [
            pytest.param("{min_level: ERROR}", [], id="alerts"),
            pytest.param("{message: '^never'}", ["--events"], id="events no rule takes"),
        ],
    )
    def test_replay_json_prints_the_new_secret_shapes_masked(
        self, tmp_path: Path, match: str, flags: list[str]
    ) -> None:
        """A password holding "@", a bot token alone, a password cut with its long
        line, and a key whose BEGIN line an elided middle took: the messages, titles
        and exception types print masked, as the webhook would send them."""
        token = "123456789:AAfake-telegram-token_for-tests-000"
        key_lines = textwrap.wrap(
            base64.b64encode(b"NOT A REAL KEY: TEST DATA ONLY. " * 24).decode(), 64
        )
        pem = "\n".join(
            ["-----BEGIN RSA PRIVATE KEY-----", *key_lines, "-----END RSA PRIVATE KEY-----"]
        )
        log = Log()
        log.at(0).logger.error("getMe failed for %s", token)
        log.at(1).exception(
            "connect failed", ConnectionError("cannot reach https://ops:p@ss@db.example.com/x")
        )
        log.at(2).logger.error("%s to postgres://app:not-a-real-password@db/shop", "padding " * 120)
        log.at(3).exception("loading the signing key failed", ValueError(f"bad key:\n{pem}"))
        text = log.text()
        sample = tmp_path / "app.log"
        sample.write_text(text, encoding="utf-8")
        long_line = next(line for line in text.splitlines() if "padding" in line)
        cut = long_line.index("not-a-real") + len("not-a-")  # inside the password
        assert all(len(line) < cut for line in text.splitlines() if line != long_line)
        config = tmp_path / "logwatch.yaml"
        config.write_text(
            f"sources:\n"
            f"  - name: app\n"
            f"    paths: ['{tmp_path}/*.log']\n"
            f"    max_line_bytes: {cut}\n"
            f"    multiline: {{max_lines: 10}}\n"
            f"rules: [{{name: errors, match: {match}, notify: [console]}}]\n"
            "notifiers: {console: {type: console}}\n",
            encoding="utf-8",
        )

        result = logwatch("replay", "--json", *flags, "-c", str(config), str(sample))

        assert result.returncode == 0, result.stderr
        records = [json.loads(line) for line in result.stdout.splitlines()]
        telegram, url, cut_url, key = records
        assert telegram["message"] == "getMe failed for 123456789:***"
        assert url["exc_message"] == "cannot reach https://ops:***@db.example.com/x"
        alerted = "ConnectionError: cannot reach https://ops:***@db.example.com/x"
        assert url["title"] == (None if flags else alerted)
        assert cut_url["message"].endswith(" to postgres://app:***")
        assert "truncated" in cut_url["flags"]
        assert "truncated" in key["flags"]
        for secret in ("AAfake-telegram", "@ss", "not-a-", *key_lines):
            assert secret not in result.stdout, (secret, result.stdout)


def _check_source(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    """`logwatch check` of a config with one source, ``app``, of these keys."""
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"sources: [{{name: app, {source}}}]\n"
        "rules: [{name: tb, match: {traceback: true}, notify: [console]}]\n"
        "notifiers: {console: {type: console}}\n",
        encoding="utf-8",
    )
    return logwatch("check", "-c", str(config))


class TestCheck:
    @pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "UTF8", "ascii", "gbk", "gb18030"])
    def test_an_encoding_that_writes_ascii_as_ascii_is_taken_quietly(
        self, tmp_path: Path, encoding: str
    ) -> None:
        result = _check_source(tmp_path, f"paths: ['{tmp_path}/*.log'], encoding: {encoding}")
        assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-32-le", "utf-7", "unicode_escape"])
    def test_an_encoding_lines_cannot_be_split_in_is_refused(
        self, tmp_path: Path, encoding: str
    ) -> None:
        """Lines are split at the byte 0x0A: in UTF-16 that byte is half of many characters."""
        result = _check_source(tmp_path, f"paths: ['{tmp_path}/*.log'], encoding: {encoding}")
        assert result.returncode == 2, result.stdout + result.stderr
        name = codecs.lookup(encoding).name
        assert f"encoding {name} is not supported: files are split into lines" in result.stderr

    def test_a_path_naming_a_directory_is_pointed_out(self, tmp_path: Path) -> None:
        """It follows nothing, and nothing else would say so; the config is still valid."""
        logs = tmp_path / "logs"
        logs.mkdir()
        result = _check_source(tmp_path, f"paths: ['{logs}', '{tmp_path}/*.log']")
        assert (result.returncode, result.stdout) == (0, "ok\n")
        assert result.stderr == (
            f"note: source 'app': {logs} is a directory, and paths name files;"
            f" did you mean {logs}/*.log?\n"
        )

    def test_example_grading_config_is_valid(self) -> None:
        result = logwatch("check", "-c", str(GRADING))
        assert (result.returncode, result.stdout) == (0, "ok\n")

    def test_template_syntax_error_fails_check(self, tmp_path: Path) -> None:
        config = tmp_path / "c.yaml"
        config.write_text(
            "rules:\n  - name: r\n    match: {}\n    notify: [log]\n"
            "    template: {title: '{% if %}'}\nnotifiers: {log: {type: console}}\n",
            encoding="utf-8",
        )
        result = logwatch("check", "-c", str(config))
        assert result.returncode == 2
        assert result.stderr.startswith(f"{config}:5:23: rules[0].template.title: template")


    @pytest.mark.parametrize(("format", "slow"), [
        ("auto", ["rule 'by-source' is slow for 'app'"]),
        ("json", ["rule 'by-source' is slow for 'app'", "rule 'by-field' is slow for 'app'",
                  "rule 'web-field' is slow for 'web'"]),
    ])
    def test_check_names_the_rules_that_make_every_line_slow(
        self, tmp_path: Path, format: str, slow: list[str]
    ) -> None:
        """A note, not an error, naming the sources: a JSON record may have any field, a
        text line has none; a rule for other sources costs a source nothing."""
        config = tmp_path / "c.yaml"
        config.write_text(
            f"sources: [{{name: app, paths: ['{tmp_path}/*.log'], format: {format}}},\n"
            f"          {{name: web, paths: ['{tmp_path}/*.json'], format: {format}}},\n"
            f"          {{name: txt, paths: ['{tmp_path}/*.txt']}}]\n"
            "rules:\n"
            "  - {name: by-source, match: {source: [app]}, notify: [log]}\n"
            "  - {name: by-field, match: {source: [app], fields: {status: '5..'}}, notify: [log]}\n"
            "  - {name: web-field, match: {source: [web, txt], fields: {a: b}}, notify: [log]}\n"
            "  - {name: by-logger, match: {logger: ['app.*']}, notify: [log]}\n"
            "notifiers: {log: {type: console}}\n",
            encoding="utf-8",
        )
        result = logwatch("check", "-c", str(config))
        assert (result.returncode, result.stdout) == (0, "ok\n")
        named = [line.split(":")[1].strip() for line in result.stderr.splitlines()
                 if "is slow" in line]
        assert named == slow


    def test_a_source_with_its_own_header_pattern_is_not_slow(self, tmp_path: Path) -> None:
        """Its lines are passed over by that pattern (``coldheaders``): nothing to note."""
        config = tmp_path / "c.yaml"
        config.write_text(
            f"sources: [{{name: app, paths: ['{tmp_path}/*.log'],"
            " header: '^\\[(?P<timestamp>[^]]+)\\] (?P<level>\\w+) '},\n"
            f"          {{name: web, paths: ['{tmp_path}/*.txt']}}]\n"
            "rules: [{name: db, match: {message: could not connect}, notify: [log]}]\n"
            "notifiers: {log: {type: console}}\n",
            encoding="utf-8",
        )
        result = logwatch("check", "-c", str(config))
        assert (result.returncode, result.stdout) == (0, "ok\n")
        assert result.stderr == ""


class TestSilenceCommands:
    @pytest.fixture
    def config(self, tmp_path: Path) -> Path:
        path = tmp_path / "c.yaml"
        path.write_text(
            f"state_dir: {tmp_path / 'state'}\n"
            "rules: [{name: db-down, match: {}, notify: [log]}]\n"
            "notifiers: {log: {type: console}}\n",
            encoding="utf-8",
        )
        return path

    def test_add_list_expire(self, config: Path) -> None:
        """add prints the id; list shows it active; expire ends it; list --all shows it expired."""
        added = logwatch("silence", "add", "-c", str(config), "--match", "rule=db-down",
                         "--match", "severity=~crit.*", "--for", "2h", "--comment", "migration")
        assert added.returncode == 0, added.stderr
        silence_id = added.stdout.strip()
        listed = logwatch("silence", "list", "-c", str(config), "--json")
        [item] = [json.loads(line) for line in listed.stdout.splitlines()]
        assert (item["id"], item["state"], item["comment"]) == (silence_id, "active", "migration")
        assert item["matchers"] == ["rule=db-down", "severity=~crit.*"]

        assert logwatch("silence", "expire", "-c", str(config), silence_id).returncode == 0
        assert logwatch("silence", "list", "-c", str(config)).stdout == ""
        everything = logwatch("silence", "list", "-c", str(config), "--all")
        assert f"{silence_id}  expired" in everything.stdout

    def test_expire_takes_the_first_characters_of_an_id_unless_two_share_them(
        self, config: Path, tmp_path: Path
    ) -> None:
        """As git takes a short commit id: six characters or more, naming one silence."""
        ids = iter(["abcdef01" + "0" * 24, "abcdef02" + "0" * 24, "123456ff" + "0" * 24])
        store = SilenceStore(tmp_path / "state" / DB_NAME, new_id=lambda: next(ids))
        now = datetime.now(UTC)
        for _ in range(3):
            store.add([parse_matcher("rule=db-down")], starts_at=now,
                      ends_at=now + timedelta(hours=2), comment="drill")
        store.close()

        ambiguous = logwatch("silence", "expire", "-c", str(config), "abcdef")
        assert ambiguous.returncode == 1
        assert "2 active silences begin with 'abcdef'" in ambiguous.stderr
        too_short = logwatch("silence", "expire", "-c", str(config), "12345")
        assert too_short.returncode == 1
        assert "no active silence '12345'" in too_short.stderr

        ended = logwatch("silence", "expire", "-c", str(config), "abcdef02")
        assert ended.returncode == 0, ended.stderr
        assert ended.stdout == f"expired abcdef02{'0' * 24}\n"
        assert logwatch("silence", "expire", "-c", str(config), "123456").returncode == 0
        listed = logwatch("silence", "list", "-c", str(config), "--json").stdout.splitlines()
        assert [json.loads(line)["id"] for line in listed] == [f"abcdef01{'0' * 24}"]

    def test_alertmanager_quotes_are_taken_off_as_in_routes(self, config: Path) -> None:
        """`host=~"web-.*"` (amtool's form) matches web-1, as it does in a route."""
        added = logwatch("silence", "add", "-c", str(config), "--match", 'rule="db-down"',
                         "--match", 'host=~"web-.*"', "--for", "1h", "--comment", "drill")
        assert added.returncode == 0, added.stderr
        listed = logwatch("silence", "list", "-c", str(config), "--json")
        [item] = [json.loads(line) for line in listed.stdout.splitlines()]
        assert item["matchers"] == ["rule=db-down", "host=~web-.*"]

    def test_bad_matcher_and_unknown_label(self, config: Path) -> None:
        """A malformed matcher is refused; a label no alert carries is warned about."""
        bad = logwatch("silence", "add", "-c", str(config), "--match", "rule",
                       "--for", "1h", "--comment", "x")
        assert bad.returncode == 2
        assert "bad matcher 'rule'" in bad.stderr
        typo = logwatch("silence", "add", "-c", str(config), "--match", "rulle=db-down",
                        "--for", "1h", "--comment", "x")
        assert typo.returncode == 0
        assert "no alert carries the label 'rulle'" in typo.stderr

    def test_unknown_label_is_warned_about_without_the_daemons_secrets(
        self, tmp_path: Path
    ) -> None:
        """As the README runs it: no --env-file, the webhook's URL unset in this shell."""
        config = tmp_path / "c.yaml"
        config.write_text(
            f"state_dir: {tmp_path / 'state'}\n"
            "labels: {team: '${TEAM:-shop}', region: '${LOGWATCH_TEST_REGION}'}\n"
            "rules: [{name: db-down, match: {}, notify: [hook]}]\n"
            "notifiers: {hook: {type: webhook, url: '${LOGWATCH_TEST_HOOK_URL}'}}\n",
            encoding="utf-8",
        )
        typo = logwatch("silence", "add", "-c", str(config), "--match", "rulle=db-down",
                        "--for", "1h", "--comment", "x")
        assert typo.returncode == 0, typo.stderr
        assert "no alert carries the label 'rulle'" in typo.stderr
        assert "region" in typo.stderr  # the config's own labels are known
        right = logwatch("silence", "add", "-c", str(config), "--match", "team=shop",
                         "--for", "1h", "--comment", "x")
        assert (right.returncode, right.stderr) == (0, "")

    @pytest.mark.parametrize("duration", ["2", "1.5", " 30 "])
    def test_a_duration_without_a_unit_is_refused(self, config: Path, duration: str) -> None:
        """`--for 2` would have silenced for 2 seconds, ended before anyone looked."""
        result = logwatch("silence", "add", "-c", str(config), "--match", "rule=db-down",
                          "--for", duration, "--comment", "x")
        assert result.returncode == 2
        assert f"--for {duration}: give a unit, as in {duration.strip()}m" in result.stderr
        assert logwatch("silence", "list", "-c", str(config), "--all").stdout == ""

    def test_expiring_an_unknown_silence_fails(self, config: Path) -> None:
        result = logwatch("silence", "expire", "-c", str(config), "nope")
        assert result.returncode == 1
        assert "no active silence 'nope'" in result.stderr
