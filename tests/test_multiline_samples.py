"""Real tracebacks from every CPython on the machine become exactly the events written.

The logs come from ``tests/data/multiline/scenarios.py`` run under each
interpreter; the truth (line spans, exception types and messages) was
recorded from line counts and live exception objects while writing.
"""

from __future__ import annotations

import os

import pytest

from logwatch.model import Event
from tests.multiline_support import (
    ENVELOPES,
    Samples,
    assemble,
    expected_specs,
    find_interpreters,
    generate_samples,
    members,
    remap,
    scenario_names,
    spec,
    wrap,
)

VERSIONS = [interpreter.version for interpreter in find_interpreters()]
SCENARIOS = scenario_names()


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    return generate_samples(tmp_path_factory)


def _events(samples: Samples, version: str, scenario: str) -> list[Event]:
    return assemble(samples.log(version, scenario).read_bytes())


class TestInterpreters:
    def test_several_cpython_versions_are_exercised(self) -> None:
        """The samples come from more than one CPython, or the test says so loudly."""
        if len(VERSIONS) < 2:
            message = f"only {VERSIONS} found; install more CPythons with pyenv"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        assert sorted(VERSIONS, key=lambda v: int(v.split(".")[1])) == VERSIONS


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("version", VERSIONS)
class TestRealTracebacks:
    def test_events_span_exactly_what_was_written(
        self, samples: Samples, version: str, scenario: str
    ) -> None:
        """Each event covers its record's lines, with the printed exception types and message."""
        truth = samples.events(version, scenario)
        events = _events(samples, version, scenario)
        assert [spec(event) for event in events] == expected_specs(truth)

    def test_header_fields_are_read(self, samples: Samples, version: str, scenario: str) -> None:
        """Level, logger, message and timestamp come from the record's header line."""
        by_span = {(e.first_line, e.last_line): e for e in _events(samples, version, scenario)}
        for truth in samples.events(version, scenario):
            header = truth.get("header")
            event = by_span.get((truth["first_line"], truth["last_line"]))
            if header is None or event is None:
                continue
            if "level" in header:
                assert event.level == header["level"], truth
            if "logger" in header:
                assert event.logger == header["logger"], truth
            if header.get("message") is not None:
                assert event.message == header["message"], truth
            if header.get("has_timestamp"):
                assert event.timestamp is not None
                assert event.timestamp.utcoffset() is not None

    def test_exception_group_members_are_as_printed(
        self, samples: Samples, version: str, scenario: str
    ) -> None:
        """Groups keep their member tree, as deep and wide as CPython printed it."""
        by_span = {(e.first_line, e.last_line): e for e in _events(samples, version, scenario)}
        for truth in samples.events(version, scenario):
            event = by_span.get((truth["first_line"], truth["last_line"]))
            if truth.get("members") and event is not None:
                assert members(event) == truth["members"]

    def test_events_are_fingerprinted(self, samples: Samples, version: str, scenario: str) -> None:
        """Every event gets a 32-hex-digit grouping key."""
        for event in _events(samples, version, scenario):
            assert event.fingerprint is not None
            assert len(event.fingerprint) == 32
            int(event.fingerprint, 16)


@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("version", VERSIONS)
class TestEnvelopes:
    def test_enveloped_logs_assemble_like_plain_ones(
        self, samples: Samples, version: str, envelope: str
    ) -> None:
        """Docker, CRI, syslog, Apache and CRLF wrapping change no event (long lines rejoined)."""
        failures = []
        for scenario in SCENARIOS:
            data, spans, noise = wrap(samples.log(version, scenario).read_bytes(), envelope)
            expected = remap(expected_specs(samples.events(version, scenario)), spans)
            expected += [(line, line, None, None, ()) for line in noise]
            got = sorted(spec(event) for event in assemble(data))
            if got != sorted(expected):
                failures.append((scenario, sorted(set(got) ^ set(expected))))
        assert failures == []


@pytest.mark.parametrize("envelope", ["docker", "cri"])
@pytest.mark.parametrize("version", VERSIONS)
def test_envelope_time_stands_in_for_a_missing_header_time(
    samples: Samples, version: str, envelope: str
) -> None:
    """A bare traceback in a container runtime's envelope still gets a timestamp."""
    data, _, _ = wrap(samples.log(version, "uncaught").read_bytes(), envelope)
    bare = [event for event in assemble(data) if event.chain and event.level is None]
    assert bare
    assert all(event.timestamp is not None for event in bare)
