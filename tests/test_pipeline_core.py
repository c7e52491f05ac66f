"""The reader loop: commits never pass an event whose row is not durable; bad input is skipped."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logwatch.config import Config, load_config
from logwatch.daemon import pipeline as pipeline_module
from logwatch.daemon.engine import build_engine
from logwatch.daemon.pipeline import Pipeline
from logwatch.model import Event, Line
from logwatch.multiline import Assembler
from logwatch.rules import Decision, GroupState, MemoryRuleState, RuleEngine, RuleState
from logwatch.sources import Tailer
from logwatch.store import Delivery, FileState, Store

RECORD = (
    "2026-01-01 12:00:00,000 ERROR app.db query failed\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/db.py", line 10, in query\n'
    "    connect()\n"
    "ValueError: could not connect\n"
    "2026-01-01 12:00:01,000 INFO app.db retrying\n"
)


def write_config(tmp_path: Path) -> Config:
    path = tmp_path / "logwatch.yaml"
    path.write_text(
        f"""
state_dir: {tmp_path / "state"}
host: test-host
sources:
  - name: app
    paths: ["{tmp_path / "logs"}/*.log"]
    start_at: beginning
rules:
  - name: tracebacks
    match: {{traceback: true}}
    severity: error
    notify: [console]
notifiers:
  console: {{type: console}}
""",
        encoding="utf-8",
    )
    return load_config(path)


class FailingStore(Store):
    """A real store whose next ``failures`` commits fail as a full or failing disk would."""

    failures = 0

    def commit(
        self, files: Iterable[FileState], deliveries: Iterable[Delivery], *, now: float
    ) -> int:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return super().commit(files, deliveries, now=now)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path / "logs"


@pytest.fixture
def setup(tmp_path: Path, log_dir: Path) -> Iterator[tuple[Config, FailingStore, Pipeline]]:
    config = write_config(tmp_path)
    store = FailingStore.in_dir(config.state_dir)
    assert isinstance(store, FailingStore)
    tailer = Tailer(config.sources, store.files(), first_start=True)
    pipeline = Pipeline(config, store, tailer, build_engine(config))
    yield config, store, pipeline
    store.close()


class TestCommitFailure:
    def test_failed_commit_keeps_the_outbox_rows_for_the_next_one(
        self, setup: tuple[Config, FailingStore, Pipeline], log_dir: Path
    ) -> None:
        """A commit that fails keeps its alerts: the next commit writes them with the offsets."""
        config, store, pipeline = setup
        (log_dir / "app.log").write_text(RECORD, encoding="utf-8")
        store.failures = 1
        with pytest.raises(sqlite3.OperationalError):
            pipeline.process()
        pipeline.close()  # what the daemon does on its way out
        check = Store.in_dir(config.state_dir)
        try:
            rows = check.outbox()
            files = check.files()
        finally:
            check.close()
        assert [row.notifier for row in rows] == ["console"]
        assert rows[0].alert().exc_type == "ValueError"
        assert len(files) == 1


POISON = RECORD.replace("query failed", "poison pill")


class ChokingAssembler(Assembler):
    """A real assembler with a bug that one line triggers."""

    def feed(self, lines: Iterable[Line]) -> list[Event]:
        lines = list(lines)
        if any("poison pill" in line.text for line in lines):
            raise IndexError("a bug in the assembler")
        return super().feed(lines)


class ChokingEngine(RuleEngine):
    """A real rule engine with a bug that one event triggers."""

    def evaluate(self, event: Event, now: datetime) -> list[Decision]:
        if "poison pill" in event.message:
            raise KeyError("a bug in a rule")
        return super().evaluate(event, now)


def alerted_lines(config: Config) -> list[int]:
    check = Store.in_dir(config.state_dir)
    try:
        return sorted(row.alert().first_line for row in check.outbox())
    finally:
        check.close()


def offsets(config: Config) -> Sequence[int]:
    check = Store.in_dir(config.state_dir)
    try:
        return [f.offset for f in check.files()]
    finally:
        check.close()


class TestBadInput:
    def test_a_line_the_assembler_chokes_on_is_skipped(
        self, tmp_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An assembler failure on one line costs that line: the records around it alert."""
        monkeypatch.setattr(pipeline_module, "Assembler", ChokingAssembler)
        config = write_config(tmp_path)
        store = Store.in_dir(config.state_dir)
        try:
            pipeline = Pipeline(
                config, store, Tailer(config.sources, [], first_start=True), build_engine(config)
            )
            (log_dir / "app.log").write_text(RECORD + POISON + RECORD, encoding="utf-8")
            pipeline.process()
            pipeline.close()
        finally:
            store.close()
        # only the header line is lost: its traceback still alerts, from its own first line
        assert alerted_lines(config) == [1, 8, 13]

    def test_an_event_the_rules_choke_on_is_skipped(self, tmp_path: Path, log_dir: Path) -> None:
        """A rule failure on one event skips that event; the events after it alert."""
        config = write_config(tmp_path)
        store = Store.in_dir(config.state_dir)
        try:
            engine = ChokingEngine(config.rules, host=config.host, labels=config.labels)
            pipeline = Pipeline(config, store, Tailer(config.sources, [], first_start=True), engine)
            (log_dir / "app.log").write_text(RECORD + POISON + RECORD, encoding="utf-8")
            pipeline.process()
            pipeline.close()
        finally:
            store.close()
        assert alerted_lines(config) == [1, 13]
        assert offsets(config) == [len(RECORD + POISON + RECORD)]


def docker(stream: str, text: str) -> str:
    return json.dumps({"log": text + "\n", "stream": stream, "time": "2026-01-01T12:00:00Z"}) + "\n"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestHeldEvents:
    def test_an_event_held_by_a_quiet_stream_goes_out_after_max_wait(
        self, tmp_path: Path, log_dir: Path
    ) -> None:
        """Docker logs: an ERROR on stderr is alerted within max_wait while stdout keeps
        writing, and the committed offset moves on instead of holding every line since."""
        config = write_config(tmp_path)
        clock = FakeClock()
        store = Store.in_dir(config.state_dir)
        log = log_dir / "app.log"
        try:
            tailer = Tailer(config.sources, [], first_start=True, clock=clock)
            pipeline = Pipeline(config, store, tailer, build_engine(config), clock=clock)
            with log.open("w", encoding="utf-8") as out:
                for line in RECORD.splitlines()[:-1]:
                    out.write(docker("stderr", line))
            pipeline.process()
            max_wait_s = config.sources[0].multiline.max_wait
            for second in range(int(max_wait_s) + 2):
                clock.now += 1.0
                with log.open("a", encoding="utf-8") as out:
                    out.write(docker("stdout", f"2026-01-01 12:00:0{second},000 INFO app.web ok"))
                pipeline.process()
            pipeline.close()
        finally:
            store.close()
        assert alerted_lines(config) == [1]
        assert offsets(config)[0] > 0


class TestHeldEventCheckpoint:
    def test_commit_of_a_held_event_records_its_first_line_number(
        self, setup: tuple[Config, FailingStore, Pipeline], log_dir: Path
    ) -> None:
        """An event still held across reads is committed at its first line, with its number."""
        config, store, _ = setup
        # a tick of 0 s: each round looks at the file again, as a watchdog hint would make it
        tailer = Tailer(config.sources, [], first_start=True, tick_s=0.0)
        pipeline = Pipeline(config, store, tailer, build_engine(config))
        log = log_dir / "app.log"
        log.write_text(RECORD, encoding="utf-8")
        pipeline.process()
        with log.open("a", encoding="utf-8") as stream:  # a bare traceback, in two writes
            stream.write('Traceback (most recent call last):\n  File "/srv/app/job.py", line 3')
            stream.write(", in run\n    ste")
        pipeline.process()
        with log.open("a", encoding="utf-8") as stream:
            stream.write("p()\n")
        pipeline.process()
        assert pipeline.counters.lines == RECORD.count("\n") + 3  # every whole line was read
        pipeline.commit()
        check = Store.in_dir(config.state_dir)
        try:
            (row,) = check.files()
        finally:
            check.close()
        assert (row.offset, row.lineno) == (len(RECORD.encode()), RECORD.count("\n") + 1)


class TestIdleTicks:
    """The loop ticks the rules once a second only while something may fall due."""

    WALL = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def _waits(
        self, tmp_path: Path, state: RuleState, monkeypatch: pytest.MonkeyPatch
    ) -> tuple[FakeClock, Pipeline, list[float]]:
        config = write_config(tmp_path)
        clock = FakeClock()
        store = Store.in_dir(config.state_dir)
        tailer = Tailer(config.sources, [], first_start=True, clock=clock)
        pipeline = Pipeline(config, store, tailer, build_engine(config, state=state),
                            clock=clock, wall_clock=lambda: self.WALL)
        asked: list[float] = []
        monkeypatch.setattr(tailer, "wait", asked.append)
        pipeline.step()  # the first tick: after it, the loop sleeps as long as it may
        asked.clear()
        return clock, pipeline, asked

    def test_nothing_due_sleeps_the_longest(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _, pipeline, asked = self._waits(tmp_path, MemoryRuleState(), monkeypatch)
        pipeline.step()
        assert asked == [pipeline_module.IDLE_TICK_S]
        pipeline.step(max_wait_s=2.0)  # the daemon's heartbeat comes first
        assert asked[-1] == 2.0

    def test_a_group_falling_due_wakes_the_loop_for_it(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        state = MemoryRuleState()
        clock, pipeline, asked = self._waits(tmp_path, state, monkeypatch)
        due = self.WALL.timestamp() + 2.5
        state.put("k", GroupState(rule="tracebacks", last_seen=0.0, due_at=due))
        pipeline.step()
        assert asked == [pytest.approx(2.5)]
        state.put("k", GroupState(rule="tracebacks", last_seen=0.0, due_at=due - 2.4))
        clock.now += 0.5  # a second apart at least, as before
        pipeline.step()
        assert asked[-1] == pytest.approx(0.5)

    def test_a_state_other_daemons_share_is_ticked_every_second(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        shared = MemoryRuleState()
        monkeypatch.setattr(shared, "quiet_until", lambda: None)  # as Redis's says
        _, pipeline, asked = self._waits(tmp_path, shared, monkeypatch)
        pipeline.step()
        assert asked == [pipeline_module.TICK_INTERVAL_S]
