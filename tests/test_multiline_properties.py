"""Properties of the assembler over real logs: batching and interleaving do not change events."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch.model import Event, Origin
from logwatch.multiline import Assembler
from logwatch.sources.framing import LineFramer
from tests.multiline_support import (
    Samples,
    Spec,
    assemble,
    expected_specs,
    find_interpreters,
    frame,
    generate_samples,
    spec,
)

NEWEST = find_interpreters()[-1].version
OLDEST = find_interpreters()[0].version
# Scenarios whose every record starts with a header line (or is one JSON line):
# records of several writers can then be interleaved without any ambiguity.
RECORD_SCENARIOS = (
    "logged_basic",
    "chains_std",
    "chains_dash",
    "chains_basic",
    "chains_iso",
    "carets",
    "multiline_call",
    "frames_without_source",
    "mutual_recursion",
    "type_only",
    "str_failure",
    "multiline_message",
    "message_with_traceback",
    "notes",
    "exception_groups",
    "syntax_in_traceback",
    "qualified_types",
    "process_pool",
    "stack_info",
    "tracebacklimit_zero",
    "json_records",
    "structlog_dicts",
    "long_message",
    "captured_warnings",
    "asyncio_logged",
    "framework_gunicorn",
    "framework_celery",
    "framework_uvicorn",
    "warning_level_traceback",
)
# Mixed files: plain records, uncaught tracebacks, CPython headers, crashes.
MIXED_SCENARIOS = ("uncaught", "cpython_headers", "stderr_misc", "exception_groups", "notes")

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    return generate_samples(tmp_path_factory)


@dataclass(frozen=True)
class Record:
    """One writer's record: its lines and the event it must become (lines relative to it)."""

    lines: tuple[bytes, ...]
    expected: tuple[Spec, ...]


def records_of(samples: Samples, version: str, scenario: str) -> list[Record]:
    """Cut a log into its records at the truth's event boundaries."""
    lines = samples.log(version, scenario).read_bytes().split(b"\n")[:-1]
    specs = expected_specs(samples.events(version, scenario))
    starts = sorted({first for first, *_ in specs})
    records = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(lines) + 1
        inside = tuple(
            (first - start + 1, last - start + 1, exc_type, message, chain)
            for first, last, exc_type, message, chain in specs
            if start <= first < end
        )
        records.append(Record(tuple(lines[start - 1 : end - 1]), inside))
    return records


def feed_in_chunks(data: bytes, cuts: list[int]) -> list[Event]:
    framer = LineFramer()
    assembler = Assembler(Origin("test", "test.log"))
    events: list[Event] = []
    previous = 0
    for cut in [*sorted(cuts), len(data)]:
        events += assembler.feed(framer.feed(data[previous:cut]))
        previous = cut
    return events + assembler.flush()


class TestBatching:
    @pytest.mark.parametrize("version", sorted({OLDEST, NEWEST}))
    @SETTINGS
    @given(choice=st.data())
    def test_any_split_of_the_bytes_gives_the_same_events(
        self, samples: Samples, version: str, choice: st.DataObject
    ) -> None:
        """Reads cut anywhere (mid-line too) give the same events as one read of everything."""
        scenario = choice.draw(st.sampled_from(MIXED_SCENARIOS + RECORD_SCENARIOS[:8]))
        data = samples.log(version, scenario).read_bytes()
        cuts = choice.draw(st.lists(st.integers(0, len(data)), max_size=12))
        assert feed_in_chunks(data, cuts) == assemble(data)

    @pytest.mark.parametrize("version", sorted({OLDEST, NEWEST}))
    @SETTINGS
    @given(choice=st.data())
    def test_any_batching_of_lines_gives_the_same_events(
        self, samples: Samples, version: str, choice: st.DataObject
    ) -> None:
        """Lines fed one by one, all at once or in any batches: identical events."""
        scenarios = choice.draw(st.lists(st.sampled_from(MIXED_SCENARIOS), min_size=1, max_size=3))
        data = b"".join(samples.log(version, name).read_bytes() for name in scenarios)
        lines = frame(data)
        sizes = choice.draw(st.lists(st.integers(1, 40), max_size=30))
        assembler = Assembler(Origin("test", "test.log"))
        events: list[Event] = []
        start = 0
        for size in sizes:
            events += assembler.feed(lines[start : start + size])
            start += size
        events += assembler.feed(lines[start:])
        assert events + assembler.flush() == assemble(data)

    def test_one_line_at_a_time_gives_the_same_events(self, samples: Samples) -> None:
        """The slowest trickle, a line per call, changes nothing either."""
        for scenario in MIXED_SCENARIOS:
            data = samples.log(NEWEST, scenario).read_bytes()
            assembler = Assembler(Origin("test", "test.log"))
            events: list[Event] = []
            for line in frame(data):
                events += assembler.feed([line])
            assert events + assembler.flush() == assemble(data)


class TestInterleavedWriters:
    @pytest.mark.parametrize("version", sorted({OLDEST, NEWEST}))
    @SETTINGS
    @given(choice=st.data())
    def test_records_of_several_writers_interleave_cleanly(
        self, samples: Samples, version: str, choice: st.DataObject
    ) -> None:
        """Whole records of 2-4 processes appended to one file in any order stay separate events."""
        names = choice.draw(
            st.lists(st.sampled_from(RECORD_SCENARIOS), min_size=2, max_size=4, unique=True)
        )
        queues = [records_of(samples, version, name) for name in names]
        queues = [queue for queue in queues if queue]
        order = choice.draw(
            st.permutations([index for index, queue in enumerate(queues) for _ in queue])
        )
        cursor = [0] * len(queues)
        data: list[bytes] = []
        expected: list[Spec] = []
        for writer in order:
            record = queues[writer][cursor[writer]]
            cursor[writer] += 1
            offset = len(data)
            expected += [
                (first + offset, last + offset, exc_type, message, chain)
                for first, last, exc_type, message, chain in record.expected
            ]
            data.extend(record.lines)
        events = assemble(b"".join(line + b"\n" for line in data))
        assert [spec(event) for event in events] == expected
