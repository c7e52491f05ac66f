"""Records seen before, framed as their header line alone: the same events as framing them.

``knownbodies`` lets replay's framer pass over the lines under a record's
header when their bytes were seen before, and the assembler make the event
from the header and what those lines made the last time. Every test here
reads the same bytes with and without it, through the same cold-line filter,
and compares every event.
"""

from __future__ import annotations

import traceback

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.model import Event, Origin
from logwatch.multiline import Assembler, blocks, knownbodies
from logwatch.multiline.knownbodies import KnownBodies, KnownBody, Recipe
from logwatch.multiline.rows import Draft, Row
from logwatch.rules.literals import Literals
from logwatch.sources.coldlines import ColdLines
from logwatch.sources.framing import LineFramer
from tests.multiline_support import logging_to_text

# a rule's literal, and the traceback rule every filter keeps tracebacks for
LITERALS = Literals(frozenset({b"could not connect"}), frozenset())


class Seen:
    """What one read framed as header lines alone, and the events with a traceback."""

    def __init__(self) -> None:
        self.marked = 0
        self.tracebacks = 0


def _read(
    data: bytes,
    *,
    known: bool,
    chunk: int = 8192,
    max_lines: int = 1000,
    max_bytes: int = 1 << 20,
    seen: Seen | None = None,
) -> list[Event]:
    """The events of ``data`` read in ``chunk``-byte reads through the filter, as replay
    reads them; ``known``: with the records seen before framed as their header alone."""
    bodies = KnownBodies() if known else None
    assembler = Assembler(
        Origin("app", "app.log", "uid"), max_lines=max_lines, max_bytes=max_bytes, known=bodies
    )
    framer = LineFramer(known=bodies)
    keep = ColdLines(LITERALS, accelerate=False)
    events: list[Event] = []
    for start in range(0, len(data), chunk):
        lines = framer.feed_lines(data[start : start + chunk], keep)
        if seen is not None:
            seen.marked += len(lines.known)
        events += assembler.feed(lines)
    events += assembler.feed(framer.feed(b"\n") if framer.has_partial else [])
    events += assembler.flush()
    if seen is not None:
        seen.tracebacks = sum(1 for event in events if event.chain)
    return events


def _storm(copies: int, *, message: str = "payment failed") -> bytes:
    """Real records from `logging` and tracebacks printed by Python, ``copies`` times over.

    The same exceptions each time, so the lines under each header repeat, under
    headers of every level: ERROR's own traceback, WARNING's, an INFO record
    with an uncaught traceback printed after it, a header ending in a colon.
    """
    with logging_to_text("tests.knownbodies") as (log, stream):
        for round_ in range(copies):
            log.info("request %d served", round_)
            try:
                try:
                    int("not a number")
                except ValueError as exc:
                    raise RuntimeError("lookup failed") from exc
            except RuntimeError:
                log.exception("%s for order %d", message, round_ % 3)
            try:
                error = KeyError("session")
                error.add_note("while loading the cart")
                raise error
            except KeyError:
                log.warning("retrying:", exc_info=True)
            log.info("worker %d restarting", round_ % 2)
            try:
                dict[str, int]()["missing"]
            except KeyError:
                traceback.print_exc(file=stream)
            try:
                raise ExceptionGroup("many", [OSError("disk"), TypeError("type")])
            except ExceptionGroup:
                log.exception("group failed: %d", round_ % 2)
            log.error("could not connect to database")
            log.debug("done %d", round_)
    return stream.getvalue().encode()


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    blocks.SHARED._templates.clear()
    blocks.SHARED._text = 0


class TestKnownBodies:
    def test_a_storm_gives_the_same_events_with_most_records_made_from_memory(self) -> None:
        data = _storm(40)
        seen = Seen()
        # what a read's records teach the assembler is known to the framer from the next read on
        fast = _read(data, known=True, seen=seen)
        assert fast == _read(data, known=False)
        assert seen.tracebacks == 4 * 40  # every traceback, bare or logged, is one event
        assert seen.marked >= 4 * 30

    @settings(max_examples=40, deadline=None)
    @given(st.integers(min_value=200, max_value=20_000))
    def test_any_read_size_gives_the_same_events(self, chunk: int) -> None:
        data = _storm(12)
        assert _read(data, known=True, chunk=chunk) == _read(data, known=False, chunk=chunk)

    @pytest.mark.parametrize("max_bytes", [*range(900, 1300, 25), 1 << 20])
    def test_a_known_record_under_a_longer_header_is_cut_as_framing_cuts_it(
        self, max_bytes: int
    ) -> None:
        """Where a long event is cut depends on the header's size too: lines known
        under a short header may not stay whole under a much longer one."""
        body = b"".join(b"Traceback (most recent call last):\n" if n == 0 else
                        b'  File "a.py", line %d, in f\n' % n for n in range(7))
        body += b"ValueError: bad\n"
        short = b"2026-03-01 10:00:00 ERROR a b\n" + body
        long_ = b"2026-03-01 10:00:00 ERROR a " + b"b" * 1000 + b"\n" + body
        data = short * 8 + long_ * 4 + short * 4 + b"2026-03-01 10:00:01 INFO z\n"
        seen = Seen()
        fast = _read(data, known=True, chunk=600, max_bytes=max_bytes, seen=seen)
        assert fast == _read(data, known=False, chunk=600, max_bytes=max_bytes)
        # (where the short header's record is past a quarter of the limit, none was
        # replayed, so none is known)
        assert seen.marked or max_bytes < 4 * len(short)

    def test_lines_ending_in_crlf_or_not_ascii_are_framed_as_ever(self) -> None:
        for data in (_storm(10).replace(b"\n", b"\r\n"), _storm(10, message="paiement échoué")):
            seen = Seen()
            assert _read(data, known=True, seen=seen) == _read(data, known=False)
            if b"\r" in data:
                assert seen.marked == 0  # the bytes are not the texts: never kept
            else:
                assert seen.marked  # the records with ASCII only are

    def test_a_header_the_framer_tags_otherwise_than_the_parser_is_stepped_through(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The framer tags a header from its bytes, the assembler from its text: a
        header ending in ":\\x1c" ends in a colon to ``str.rstrip``, not to
        ``bytes.rstrip``. Marked with lines known under a colon-less header, it finds
        nothing made under its own tag, and the lines are fed one by one."""
        # (only once the lines are known under the plain header: else the odd one's
        # own tag would be learnt first)
        data = _storm(12) + _storm(12).replace(b" for order 1\n", b" for order 1:\x1c\n")
        missed: list[str] = []
        made_again = Assembler._made_again

        def spy(self: Assembler, head: Row, body: KnownBody, drafts: list[Draft]) -> bool:
            done = made_again(self, head, body, drafts)
            if not done:
                missed.append(head.text)
            return done

        monkeypatch.setattr(Assembler, "_made_again", spy)
        assert _read(data, known=True) == _read(data, known=False)
        assert missed
        assert all(text.endswith(":\x1c") for text in missed)

    def test_a_long_span_of_short_records_is_looked_up_a_record_at_a_time(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The rest of a span is looked up whole only where a body kept is as long: else
        a read of back-to-back records would have its rest copied once a record."""
        record = (b"2026-03-01 10:00:00,123 ERROR app.db query failed\n"
                  b"Traceback (most recent call last):\n"
                  b'  File "/srv/app/db.py", line 12, in connect\n'
                  b"ConnectionRefusedError: [Errno 111] Connection refused" + b"." * 130 + b"\n")
        # past 256 bytes a record (one span a record, not the whole read), and a
        # record passed over in every read: the span before it is closed
        data = (record * 180 + b"2026-03-01 10:00:01,000 INFO app ok\n") * 12
        looked: list[int] = []
        get = KnownBodies.get

        def spy(self: KnownBodies, body: bytes) -> knownbodies.KnownBody | None:
            looked.append(len(body))
            return get(self, body)

        monkeypatch.setattr(KnownBodies, "get", spy)
        seen = Seen()
        assert _read(data, known=True, chunk=1 << 16, seen=seen) == _read(
            data, known=False, chunk=1 << 16
        )
        assert seen.marked > 1000
        assert sum(looked) < 2 * len(data)


class TestMemory:
    def test_what_is_kept_stays_within_its_bound(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(knownbodies, "_MAX_BYTES", 300)
        bodies = KnownBodies()
        recipe = Recipe("", (), "")
        for n in range(50):
            bodies.add((f"Traceback {n}", "  File 'a.py', line 1, in f", "E: x"), ("ERROR", False),
                       recipe)
            assert bodies._bytes <= 300
            assert len(bodies._bodies) == len(bodies._by_texts) <= 300 // 40
        assert bodies.get(b"Traceback 49\n  File 'a.py', line 1, in f\nE: x\n") is not None
        assert bodies.get(b"Traceback 0\n  File 'a.py', line 1, in f\nE: x\n") is None
