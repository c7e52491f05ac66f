"""The one-pass literal scan finds exactly the lines the bytes.find passes find."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.sources import literalscan

# The CI installs the test extras, which include the accelerator: say so loudly if not.
ACCELERATED = literalscan.accelerated()
if not ACCELERATED:  # pragma: no cover - shown in the test summary when it happens
    print("\n*** hyperscan is not installed: the accelerated literal scan is NOT tested ***")

_ALPHABET = st.sampled_from([b"a", b"b", b"A", b"B", b"\n", b" ", b"\0", b"\xc3\xa9", b"+", b"."])


def _starts(scan: literalscan.Scan, body: bytes) -> set[int]:
    found: list[int] = []
    scan(body, found)
    return set(found)


def _reference(body: bytes, exact: list[bytes], folded: list[bytes]) -> set[int]:
    """Every line holding a literal, by splitting the buffer (the definition, slowly)."""
    starts: set[int] = set()
    offset = 0
    for line in body.split(b"\n"):
        if any(literal in line for literal in exact) or any(
            literal in line.lower() for literal in folded
        ):
            starts.add(offset)
        offset += len(line) + 1
    return starts


_LINES = [b"2026 header\n", b"1\n", b"Traceback\n", b"  File\n", b"\n", b" \n", b"a\n", b"x", b"9"]


def _runs(body: bytes) -> list[tuple[int, int]]:
    """Runs of lines not led by a digit, each after one that is (the definition, slowly)."""
    runs: list[tuple[int, int]] = []
    offset = 0
    lines = body.split(b"\n")
    for index, line in enumerate(lines):
        after_digit_line = index > 0 and lines[index - 1][:1].isdigit()
        if line[:1].isdigit() or (index == len(lines) - 1 and not line):
            pass  # a digit-led line, or the empty string after the last newline
        elif after_digit_line and (offset < len(body)):
            runs.append((offset, len(body)))
        if runs and runs[-1][1] == len(body) and line[:1].isdigit():
            runs[-1] = (runs[-1][0], offset)
        offset += len(line) + 1
    return runs


@pytest.mark.skipif(not ACCELERATED, reason="hyperscan not installed (pip install '.[fast]')")
class TestAcceleratedScan:
    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(_ALPHABET, max_size=60).map(b"".join),
        st.lists(st.lists(_ALPHABET.filter(lambda b: b != b"\n"), min_size=1, max_size=3)
                 .map(b"".join), min_size=1, max_size=3),
        st.lists(st.sampled_from([b"ab", b"b.", b"a+"]), max_size=2),
    )
    def test_one_pass_finds_the_same_lines_as_one_find_per_literal(
        self, body: bytes, exact: list[bytes], folded: list[bytes]
    ) -> None:
        fast = literalscan.literal_scan(exact, folded, accelerate=True)
        plain = literalscan.literal_scan(exact, folded, accelerate=False)
        expected = _reference(body, exact, folded)
        assert _starts(fast, body) == expected
        assert _starts(plain, body) == expected

    @settings(max_examples=500, deadline=None)
    @given(st.lists(st.sampled_from(_LINES), max_size=30).map(b"".join))
    def test_the_same_pass_finds_the_runs_of_lines_that_do_not_start_with_a_digit(
        self, body: bytes
    ) -> None:
        """Runs after a digit-led line, to their end: what coldlines' regex finds."""
        fast = literalscan.literal_scan([b"a"], [], accelerate=True)
        assert fast(body, []) == _runs(body)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.sampled_from(
        [b'"k": 1', b'"k":"s"', b'"k" :\t{', b'"k"', b":", b"1", b" ", b'"', b"\n", b"\r",
         b"7x", b"x"]
    ), max_size=30).map(b"".join))
    def test_a_pattern_finds_the_same_lines_in_the_one_pass_as_with_re(self, body: bytes) -> None:
        """Regexes given with the literals: each line one of their matches ends on."""
        # a leading anchor binds the whole pattern, alternatives too
        patterns = [rb'"k"[ \t\r]*:[ \t\r]*[^ \t\r\n"]', rb"^[0-9]x|1"]
        fast = literalscan.literal_scan([b"zz"], [], accelerate=True, patterns=patterns)
        plain = literalscan.literal_scan([b"zz"], [], accelerate=False, patterns=patterns)
        meant = [patterns[0], rb"^(?:[0-9]x|1)"]
        expected = {body.rfind(b"\n", 0, match.start()) + 1
                    for pattern in meant
                    for match in re.finditer(pattern, body, re.MULTILINE)}
        assert _starts(fast, body) == expected
        assert _starts(plain, body) == expected

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.sampled_from(
        [b"2026-03-01T00:00:00 x", b"2026 ab", b"ab", b"1x", b"zz", b" ", b"\n", b"Traceback"]
    ), max_size=30).map(lambda pieces: b"".join(pieces) + b"\n"))
    def test_without_runs_only_literals_and_patterns_are_found(self, body: bytes) -> None:
        """A source with a header pattern of its own needs no runs, nor its ISO lines kept.

        (Whole lines, as the filters ask: with an anchored pattern beside them,
        hyperscan 0.9 misses a literal that ends a buffer of 16 bytes or more.)
        """
        fast = literalscan.literal_scan([b"ab"], [b"zz"], accelerate=True, patterns=[rb"^1x"],
                                        with_runs=False)
        assert fast(body, []) == []
        expected = _reference(body, [b"ab"], [b"zz"]) | {
            body.rfind(b"\n", 0, match.start()) + 1
            for match in re.finditer(rb"^1x", body, re.MULTILINE)}
        assert _starts(fast, body) == expected

    def test_regex_syntax_and_nul_in_a_literal_are_plain_bytes(self) -> None:
        scan = literalscan.literal_scan([b"a.b", b"x\0y", b"(z"], [], accelerate=True)
        body = b"aXb\na.b\nx\0y\n(z\nz\n"
        assert _starts(scan, body) == {4, 8, 12}


    def test_a_literal_past_hyperscans_limits_falls_back_to_the_passes(self) -> None:
        """A rule may hold thousands of bytes of fixed text; hyperscan refuses such a
        pattern, and the scan is then the standard library's, finding the same lines."""
        long = b"abc" * 3000
        scan = literalscan.literal_scan([long, b"short"], [], accelerate=True)
        assert literalscan._hyperscan((long, b"short"), (), (), True) is None
        body = b"x\n" + long + b"\nshort one\nab\n"
        assert scan(body, []) is None  # the passes leave the runs to coldlines' regex
        assert _starts(scan, body) == {2, 2 + len(long) + 1}


class TestPlainScan:
    def test_case_folded_literals_match_any_ascii_case(self) -> None:
        scan = literalscan.literal_scan([], [b"denied"], accelerate=False)
        assert _starts(scan, b"ok\nPermission DENIED\nfine\n") == {3}

    def test_no_literals_find_nothing(self) -> None:
        scan = literalscan.literal_scan([], [], accelerate=True)
        assert _starts(scan, b"anything\n") == set()

    def test_the_environment_can_turn_the_accelerator_off(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LOGWATCH_ACCELERATE", "0")
        assert not literalscan.accelerated()
