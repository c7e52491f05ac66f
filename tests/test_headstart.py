"""Replay's head start: the first file scanned to a plan guessed from the config's text,
kept only where the validated config gives the same plan."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from logwatch import headstart, replay
from logwatch.config import default_replay_config, load_config
from logwatch.defaults import DEFAULT_REPLAY_YAML
from logwatch.headstart import guess_plan, head_start
from logwatch.replay import cold_plan, file_events, replay_records
from logwatch.rules.literals import Literals
from logwatch.sources.coldlines import ColdPlan
from logwatch.sources.forkscan import ForkScan
from logwatch.sources.framing import KeepSpans
from tests.coldlines_support import RULES, write_config
from tests.test_sources_coldlines import _text

# rules and source settings of every kind the plan depends on
CASES = {
    "the usual rules": (RULES, ""),
    "a JSON source": (RULES, "    format: json\n"),
    "context on the source": (RULES, "    context_lines: 3\n"),
    "context on a rule": (RULES + "  - {name: ctx, match: {message: boom}, notify: hook,"
                          " context_lines: 2}\n", ""),
    "levels, aliases, a floor": ("  - {name: w, match: {level: warn}, notify: hook}\n"
                                 "  - {name: m, match: {min_level: Error}, notify: hook}\n", ""),
    "one string for a list": ("  - {name: l, match: {logger: app.db.*, source: app},"
                              " notify: hook}\n", ""),
    "folded, exceptions, fields": (
        "  - {name: f, match: {message: '(?i)Disk FULL'}, notify: hook}\n"
        "  - {name: e, match: {exception: ['*Error']}, notify: hook}\n"
        "  - {name: j, match: {fields: {user: 'bob*'}}, notify: hook}\n", ""),
    "a header pattern": (RULES, "    header: '^(?P<timestamp>\\S+) (?P<message>.*)'\n"),
    "a header pattern, a cap": (RULES, "    header: '(?i)^\\[(?P<level>\\w+)\\]'\n"
                                "    max_line_bytes: 2048\n"),
    "a header pattern in JSON": (RULES, "    header: '^\\S+'\n    format: json\n"),
    "an encoding, a literal it writes otherwise": (
        RULES + "  - {name: z, match: {message: '库存不足'}, notify: hook}\n",
        "    encoding: gbk\n"),
    "an encoding and a header pattern": (
        RULES + "  - {name: z, match: {message: 'für'}, notify: hook}\n",
        "    encoding: Latin-1\n    header: '^(?P<timestamp>\\S+) (?P<message>.*)'\n"),
    "a time zone": (RULES, "    timezone: Europe/Berlin\n"),
    "a rule with no literal": ("  - {name: s, match: {message: '\\d+'}, notify: hook}\n", ""),
    "no rules": ("  []\n", ""),
}


def _config(tmp_path: Path, rules: str, source_extra: str = "") -> Path:
    return write_config(tmp_path, rules, source_extra=source_extra)


def _validated_plan(config_path: Path, log: Path) -> Any:
    config = load_config(config_path)
    return cold_plan(config, replay._source_for(config, str(log)))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("where", ["a source's", "no source's"])
def test_the_guess_is_the_plan_the_validated_config_gives(
    tmp_path: Path, case: str, where: str
) -> None:
    rules, source_extra = CASES[case]
    path = _config(tmp_path, rules, source_extra)
    log = tmp_path / "app.log" if where == "a source's" else tmp_path / "elsewhere" / "x.txt"
    expected = _validated_plan(path, log)
    assert guess_plan(path.read_text(), tmp_path, str(log)) == expected


def test_a_cap_with_its_unit_is_not_guessed(tmp_path: Path) -> None:
    """Sizes are read by the config's models: no head start, which costs nothing but time."""
    path = _config(tmp_path, RULES, "    header: '^\\S+'\n    max_line_bytes: 2KiB\n")
    plan = _validated_plan(path, tmp_path / "app.log")
    assert plan is not None
    assert plan.max_line_bytes == 2048
    assert guess_plan(path.read_text(), tmp_path, str(tmp_path / "app.log")) is None


def test_without_a_config_the_guess_is_the_built_in_configs_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _big_log(tmp_path, monkeypatch)
    config = default_replay_config()
    plan = cold_plan(config, None)
    assert plan is not None  # tracebacks and ERROR/CRITICAL records
    assert guess_plan(DEFAULT_REPLAY_YAML, tmp_path, str(log)) == plan
    head = head_start(None, [str(log)])
    assert head is not None
    try:
        assert head.plan == plan
    finally:
        head.close()


def test_a_rule_for_another_source_costs_this_one_nothing(tmp_path: Path) -> None:
    path = tmp_path / "logwatch.yaml"
    path.write_text(
        f"sources:\n  - {{name: app, paths: ['{tmp_path}/*.log']}}\n"
        f"  - {{name: web, paths: ['{tmp_path}/*.web']}}\n"
        "rules:\n  - {name: any, match: {source: web, message: '\\d+'}, action: drop}\n"
        "  - {name: db, match: {message: 'could not connect'}, action: drop}\n"
    )
    for log in (tmp_path / "app.log", tmp_path / "x.web"):
        expected = _validated_plan(path, log)
        assert guess_plan(path.read_text(), tmp_path, str(log)) == expected
    assert _validated_plan(path, tmp_path / "app.log") is not None
    assert _validated_plan(path, tmp_path / "x.web") is None


def test_relative_paths_are_resolved_against_the_config_as_validation_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "logwatch.yaml"
    path.write_text(
        "sources:\n  - {name: app, paths: ['../logs/*.log'], format: json}\n"
        "rules:\n  - {name: db, match: {message: 'could not connect'}, action: drop}\n"
    )
    log = tmp_path / "logs" / "app.log"
    monkeypatch.chdir(tmp_path / "etc")
    plan = _validated_plan(path, log)
    assert plan is not None
    assert plan.json
    assert guess_plan(path.read_text(), path.absolute().parent, "../logs/app.log") == plan


def test_variables_are_expanded_as_the_loader_expands_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In rules and in a source's paths, format and name; an unset one gives no guess."""
    monkeypatch.setenv("WANTED", "could not connect")
    monkeypatch.setenv("LOGS", str(tmp_path / "logs"))
    monkeypatch.setenv("SHAPE", "json")
    monkeypatch.setenv("FLOOR", "critical")
    path = tmp_path / "logwatch.yaml"
    path.write_text(
        "sources:\n  - {name: '${NAME:-app}', paths: ['${LOGS}/*.log'], format: '${SHAPE}'}\n"
        "  - {name: web, paths: ['${LOGS}/*.web']}\n"
        "rules:\n  - {name: db, match: {message: '${WANTED}', source: app}, action: drop}\n"
        "  - {name: other, match: {message: '\\d+', source: web}, action: drop}\n"
        "  - {name: dollar, match: {message: 'cost: \\$$5'}, action: drop}\n"
        "  - {name: floor, match: {min_level: '${FLOOR}'}, action: drop}\n"
    )
    log = tmp_path / "logs" / "app.log"
    plan = _validated_plan(path, log)
    assert plan is not None
    assert plan.json
    assert plan.literals.exact == {b"could not connect", b"cost: $5"}
    assert plan.literals.folded == {b"critical", b"crit", b"fatal", b"alert", b"emerg"}
    assert guess_plan(path.read_text(), tmp_path, str(log)) == plan
    monkeypatch.delenv("WANTED")
    with pytest.raises(ValueError, match="not set"):
        guess_plan(path.read_text(), tmp_path, str(log))


@pytest.mark.parametrize(
    "text",
    ["rules: [\n", "- a list\n", "rules:\n  - name: x\n    match: {colour: red}\n",
     "rules:\n  - name: x\n    match: {message: '('}\n", "sources: [{name: a}]\n",
     "rules: " + "[" * 100_000 + "]" * 100_000 + "\n",
     "rules:\n" + "- " * 60_000 + "x\n",
     "l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n"
     + "".join(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]\n" for n in range(1, 9))
     + "rules:\n  - name: *l8\n    match: {message: could not connect}\n"],
    ids=["broken YAML", "not a mapping", "an unknown key", "a bad regex", "no paths",
         "nested past libyaml's recursion", "the same in block style",
         "a name of a billion aliases"],
)
def test_a_text_validation_rejects_or_the_guess_does_not_know_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    log = _big_log(tmp_path, monkeypatch)
    path = tmp_path / "logwatch.yaml"
    path.write_text(text)
    started = _count_starts(monkeypatch)
    assert head_start(path, [str(log)]) is None
    assert started == []  # no guess: no helper asked for


def test_no_head_start_for_standard_input_a_missing_config_or_a_filter_not_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _big_log(tmp_path, monkeypatch)
    path = _config(tmp_path, RULES)
    started = _count_starts(monkeypatch)
    assert head_start(path, ["-", str(log)]) is None
    assert head_start(tmp_path / "missing.yaml", [str(log)]) is None
    assert head_start(path, []) is None
    assert started == []

    def refuse(plan: ColdPlan) -> KeepSpans:
        raise RuntimeError("no")

    # building may fail on a guess that is no part of the config: replay goes on
    monkeypatch.setattr(ColdPlan, "build", refuse)
    assert head_start(path, [str(log)]) is None
    assert started == []


class TestReplay:
    def test_a_config_read_from_a_pipe_is_read_once_by_the_loader(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`-c <(make-config)`: the guess must not take the text the loader reads."""
        log = _big_log(tmp_path, monkeypatch)
        text = _config(tmp_path, RULES).read_text()
        fifo = tmp_path / "config.fifo"
        os.mkfifo(fifo)
        writer = threading.Thread(target=fifo.write_text, args=(text,))
        writer.start()
        try:
            assert head_start(fifo, [str(log)]) is None
            config = load_config(fifo)
        finally:
            writer.join(timeout=30)
        assert [rule.name for rule in config.rules] == ["quiet", "db", "crit", "tracebacks"]

    def test_a_right_guess_scans_the_first_file_and_replay_takes_its_answers(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        log = _big_log(tmp_path, monkeypatch)
        scan, started = _replay_both_ways(_config(tmp_path, RULES), log, monkeypatch)
        assert started == []  # replay started no helper of its own
        assert scan.answered_ahead > 0
        assert scan._pid is None  # replay closed it when the file was read

    def test_a_wrong_guess_is_stopped_and_the_file_scanned_as_without_it(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A guess whose literals are not the rules': its answers would pass over the
        lines the rules take, so replay must not use them."""
        log = _big_log(tmp_path, monkeypatch)

        def wrong(text: str, base_dir: Path, path: str) -> ColdPlan:
            return ColdPlan(Literals(frozenset({b"nothing like it"}), frozenset()), False, 0)

        monkeypatch.setattr(headstart, "guess_plan", wrong)
        scan, started = _replay_both_ways(_config(tmp_path, RULES), log, monkeypatch)
        assert scan._pid is None
        assert scan.answered_ahead == 0
        assert started == [str(log)]  # replay's own helper, to the validated plan

    def test_a_head_start_for_another_file_is_stopped(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The first file replay reads is not the one guessed for (it was unreadable)."""
        log = _big_log(tmp_path, monkeypatch)
        other = tmp_path / "other.log"
        other.write_bytes(log.read_bytes())
        path = _config(tmp_path, RULES)
        head, scan = _begun(path, log)
        expected = _replayed(path, other, None)
        assert _replayed(path, other, head) == expected
        assert scan._pid is None
        assert scan.answered_ahead == 0

    def test_every_event_printed_needs_no_scan(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``--events`` frames every line: the CLI starts no head start for it, and one
        given anyway is stopped."""
        log = _big_log(tmp_path, monkeypatch)
        path = _config(tmp_path, RULES)
        head, scan = _begun(path, log)
        config = load_config(path)
        list(file_events(config, [str(log)], all_events=True, head_start=head))
        assert scan._pid is None
        assert scan.answered_ahead == 0

    @pytest.mark.parametrize("config_text", [
        "rules: [\n",
        "rules:\n  - {name: x, match: {message: could not connect}, severity: bogus}\n",
    ])
    def test_a_config_error_stops_the_helper_and_is_reported(
        self, tmp_path: Path, config_text: str
    ) -> None:
        """Broken YAML starts no helper; a rule validation rejects (its guess starts one)
        is reported all the same: exit 2, nothing printed."""
        log = tmp_path / "app.log"
        log.write_bytes(_text(seed=5, count=30_000) * 2)
        assert log.stat().st_size > 4 * replay.READ_SIZE
        path = tmp_path / "logwatch.yaml"
        path.write_text(config_text)
        env = {k: v for k, v in os.environ.items() if k != "LOGWATCH_JOBS"}
        done = subprocess.run(
            [sys.executable, "-m", "logwatch", "replay", "-c", str(path), "--json", str(log)],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 2
        assert done.stdout == ""
        assert str(path) in done.stderr


def _begun(path: Path, log: Path) -> tuple[headstart.HeadStart, ForkScan]:
    head = head_start(path, [str(log)])
    assert head is not None
    scan = head._scan
    assert scan is not None
    return head, scan


def _replay_both_ways(
    path: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[ForkScan, list[str]]:
    """The head start's helper, and the files replay started its own for, once the
    replay with the head start printed what the replay without it did."""
    expected = _replayed(path, log, None)
    head, scan = _begun(path, log)
    # The helper runs at the idle class: on a machine busy with other work it may not
    # run at all before replay has scanned every read itself. Its first answer is
    # waited for, so that replay has one to take (or, for a wrong guess, to refuse).
    assert scan._poll.poll(60_000), "the head start's helper answered nothing in 60 s"
    started = _count_starts(monkeypatch)
    try:
        assert _replayed(path, log, head) == expected
    finally:
        head.close()
    return scan, started


def _count_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths replay starts helpers for from now on (none is started)."""
    started: list[str] = []

    def start(path: str, keep: KeepSpans, read_size: int) -> None:
        started.append(path)

    monkeypatch.setattr(ForkScan, "start", start)
    return started


def _big_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log of many of replay's reads, made small; helpers may fork in this process."""
    monkeypatch.setattr(replay, "READ_SIZE", 1 << 14)
    monkeypatch.setattr(headstart, "may_fork", lambda: True)
    monkeypatch.setattr("logwatch.sources.forkscan.may_fork", lambda: True)
    log = tmp_path / "app.log"
    log.write_bytes(_text(seed=7, count=3000))
    assert log.stat().st_size > 16 * replay.READ_SIZE
    return log


def _replayed(path: Path, log: Path, head: headstart.HeadStart | None) -> list[dict[str, Any]]:
    config = load_config(path)
    events = file_events(config, [str(log)], all_events=False, head_start=head)
    return list(replay_records(config, events, all_events=False))
