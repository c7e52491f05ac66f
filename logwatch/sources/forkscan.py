"""Bytes -> spans on a second core: replay's cold-line scans, made ahead by a forked helper.

`replay` reads a file from its start and asks a ``KeepSpans`` filter
(``coldlines``) which spans of each buffer to frame: a few C-level scans per
buffer, most of replay's time with the standard library. The answer depends
on the buffer alone, and the buffers are known before they are read: reads
are ``read_size`` apart, and a buffer's lines begin after the line the
previous read left open (``LineFramer._feed_kept``). So a forked helper scans
the buffers ahead of replay, in order, and sends each answer (with the lines
between the spans counted, which the framer would otherwise count). When
replay catches up with the helper, it does not wait: it scans buffers from the
file's end, and the helper stops where those begin; with none left, it scans
the buffer it needs. Each buffer is scanned by whichever process gets to it
first (rarely both: the answers are the same).

An answer is used only for the buffer it was made for: same file offset, same
length, same first and last bytes. A file that grew, a helper that died: the
buffer is scanned here, as without the helper. The helper only reads the file
and writes to a pipe; it leaves by ``os._exit``, so nothing the parent
buffered for stdout is flushed twice.
"""

from __future__ import annotations

import contextlib
import functools
import mmap
import os
import select
import signal
import stat
import struct
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple, NoReturn

from logwatch.jobs import above_std, close_inherited, fork, helper_pipe, may_fork, write_all
from logwatch.sources.framing import CountedSpans, KeepSpans, LineFramer, kept_bounds

# Below this many reads the fork costs more than it saves.
_MIN_READS = 4
_EDGE = 16  # first and last bytes of a buffer, sent with its answer as a check
# read number, offset, length, number of spans, the buffer's first and last
# bytes; then the spans' bounds, and the lines before each span and after the last
_HEAD = struct.Struct(f"=qqqq{_EDGE}s{_EDGE}s")
# In the page both processes share: the read replay is at, the first read it
# has taken from the end, the read the helper is scanning.
_FRONT, _BACK, _CLAIM = 0, 1, 2


# Helpers stopped but not yet seen to end (still our children: their pids stay theirs).
_KILLED: set[int] = set()


def reap_killed() -> None:
    """Reap the stopped helpers that have ended; one left at exit, init reaps."""
    for pid in list(_KILLED):
        try:
            ended = os.waitpid(pid, os.WNOHANG)[0] == pid
        except ChildProcessError:
            ended = True  # reaped elsewhere
        if ended:
            _KILLED.discard(pid)


class Answer(NamedTuple):
    offset: int
    length: int
    head: bytes  # padded to _EDGE bytes with NULs, as the pipe carries it
    tail: bytes
    spans: CountedSpans

    def fits(self, offset: int, chunk: bytes, start: int, end: int) -> bool:
        """Was it made for the buffer ``chunk[start:end]``, at ``offset`` in the file?"""
        return (
            offset == self.offset
            and end - start == self.length
            and _edge(chunk[start : min(start + _EDGE, end)]) == self.head
            and _edge(chunk[max(end - _EDGE, start) : end]) == self.tail
        )


def _edge(piece: bytes) -> bytes:
    return piece.ljust(_EDGE, b"\0")


class ForkScan:
    """Answers of ``keep`` for one regular file, most of them made by a forked helper."""

    def __init__(self, path: str, keep: KeepSpans, read_size: int, size: int) -> None:
        """Fork the helper; OSError where a pipe or a process cannot be had."""
        self._keep = keep
        self._read_size = read_size
        self.answered_ahead = 0  # buffers whose answer was ready: the helper's, or from the end
        self.scanned_in_order = 0  # buffers scanned when replay got to them
        self.taken_from_end = 0  # reads scanned here, from the end, while the helper was busy
        self._answers: dict[int, Answer] = {}
        self._pending = bytearray()
        self._pid: int | None = None
        self._read_end: int | None = None
        self._fd = above_std(os.open(path, os.O_RDONLY))  # for the reads taken from the end
        self._page = mmap.mmap(-1, mmap.PAGESIZE)  # anonymous and shared: both see it
        self._shared = memoryview(self._page).cast("q")
        self._shared[_FRONT] = self._shared[_CLAIM] = -1
        self._shared[_BACK] = -(-size // read_size)
        self._poll = select.poll()
        write_end = -1
        try:
            # Room for the answers the helper makes before replay reads any: it may
            # start while the config is validated (``headstart``), and a storm's
            # answers are ~10 KB a read.
            self._read_end, write_end = helper_pipe()
            self._poll.register(self._read_end, select.POLLIN)
            self._pid = fork(functools.partial(
                _helper, self._read_end, write_end, self._fd, keep, read_size, self._shared))
        except OSError:
            self.close()
            raise
        finally:
            if write_end >= 0:
                os.close(write_end)

    @classmethod
    def start(cls, path: str, keep: KeepSpans, read_size: int) -> ForkScan | None:
        """The helper for ``path``, or None where it would not pay or cannot run.

        Not for pipes or small files, not where ``jobs.may_fork`` says no,
        and not where the fork fails.
        """
        if not may_fork():
            return None
        try:
            info = Path(path).stat()
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode) or info.st_size < _MIN_READS * read_size:
            return None
        try:
            return cls(path, keep, read_size, info.st_size)
        except OSError:
            return None

    def keep_for(self, framer: LineFramer) -> KeepSpans:
        """The filter for ``framer``, which is fed this file's reads from its start."""
        return _FramerKeep(self, framer)

    def spans(self, offset: int, body: bytes) -> list[tuple[int, int]]:
        """What ``keep(body)`` returns, for the buffer at ``offset`` in the file."""
        return self.spans_in(offset, body, 0, len(body))

    def spans_in(self, offset: int, chunk: bytes, start: int, end: int) -> list[tuple[int, int]]:
        """``spans`` of the buffer ``chunk[start:end]``, copied out only to be scanned here."""
        if start == end:
            # a read whose only line end completes the line carried into it:
            # ``offset`` is then the next read's start, so it names no read
            return self._keep(b"")
        number = offset // self._read_size
        shared = self._shared
        if self._read_end is not None:
            shared[_FRONT] = number  # the helper passes over this read from now on
            self._receive()
            # The helper answers a read it has claimed, but it runs only on a core
            # nobody else wants: take reads from the end meanwhile, and when none
            # are left, scan this one here rather than wait.
            while number not in self._answers and shared[_CLAIM] == number:
                if not self._take_from_end(number):
                    break
                self._receive()
            if number not in self._answers:
                self._receive()  # it may have answered just now
        answer = self._answers.pop(number, None)
        if answer is None or not answer.fits(offset, chunk, start, end):
            self.scanned_in_order += 1
            return self._keep(chunk[start:end])
        self.answered_ahead += 1
        return answer.spans

    def close(self) -> None:
        """Stop the helper, if it is still scanning, and reap it."""
        if self._read_end is not None:
            os.close(self._read_end)
            self._read_end = None
        if self._pid is not None:
            try:
                if os.waitpid(self._pid, os.WNOHANG) == (0, 0):  # not yet done: stop it
                    os.kill(self._pid, signal.SIGKILL)
                    # It ends when next scheduled, which at the idle class on a busy
                    # machine can be seconds away: reaped later, not waited for.
                    _KILLED.add(self._pid)
            except ChildProcessError:
                pass  # reaped elsewhere (a test does): its pid may be another's now
            self._pid = None
        reap_killed()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._shared.release()
            self._page.close()

    def _take_from_end(self, number: int) -> bool:
        """Scan the last read neither process has taken, if any is left after ``number``."""
        shared = self._shared
        last = shared[_BACK] - 1
        if last <= max(number, shared[_CLAIM]):
            return False
        shared[_BACK] = last
        self.taken_from_end += 1
        answer = _answer(self._fd, last, self._read_size, self._keep)
        if answer is not None:
            self._answers[last] = answer
        return True

    def _receive(self) -> None:
        """Take what the helper has written, without waiting for more."""
        fd = self._read_end
        while fd is not None and self._poll.poll(0):
            data = os.read(fd, 1 << 16)
            if not data:  # it has written all it will
                self._poll.unregister(fd)
                os.close(fd)
                self._read_end = fd = None
                return
            self._parse(data)

    def _parse(self, data: bytes) -> None:
        pending = self._pending
        pending += data
        at = 0
        while len(pending) - at >= _HEAD.size:
            number, offset, length, count, head, tail = _HEAD.unpack_from(pending, at)
            end = at + _HEAD.size + 8 * (3 * count + 1)
            if len(pending) < end:
                break
            flat = array("q")
            flat.frombytes(pending[at + _HEAD.size : end])
            pairs = iter(flat[: 2 * count])
            spans = CountedSpans(list(zip(pairs, pairs, strict=True)), flat[2 * count :].tolist())
            if number >= self._shared[_FRONT]:  # not one replay has passed already
                self._answers[number] = Answer(offset, length, head, tail, spans)
            at = end
        del pending[:at]


class _FramerKeep:
    """``keep_for``'s filter: a framer's buffers, answered by the helper where it can."""

    __slots__ = ("_framer", "_scan")

    def __init__(self, scan: ForkScan, framer: LineFramer) -> None:
        self._scan = scan
        self._framer = framer

    def __call__(self, body: bytes) -> list[tuple[int, int]]:
        return self._scan.spans(self._framer.offset, body)

    def spans_in(self, chunk: bytes, start: int, end: int) -> list[tuple[int, int]]:
        """Asked in place by the framer (``LineFramer._feed_kept``)."""
        return self._scan.spans_in(self._framer.offset, chunk, start, end)


def _helper(
    read_end: int, out: int, fd: int, keep: KeepSpans, read_size: int, shared: memoryview,
    masked: Iterable[int],
) -> NoReturn:
    """The forked process: scan, then leave without running the parent's exit code."""
    code = 1
    try:
        os.close(read_end)
        # nothing to read or print: a consumer of replay's stdout sees its end
        # when replay exits, not when the helper does
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.close(null)
        close_inherited((out, fd))
        signal.pthread_sigmask(signal.SIG_SETMASK, masked)
        # Only a core nobody else wants: replay's own process (``eventpipe``),
        # or another program. Reads not answered in time replay scans itself.
        with contextlib.suppress(AttributeError, OSError):  # not Linux
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        _scan_ahead(fd, keep, read_size, shared, out)
        code = 0
    finally:
        os._exit(code)


def _scan_ahead(fd: int, keep: KeepSpans, read_size: int, shared: memoryview, out: int) -> None:
    """In the helper: answer the reads after replay's, up to those it took from the end."""
    number = 0
    while True:
        number = max(number, shared[_FRONT] + 1)
        if number >= shared[_BACK]:
            return
        shared[_CLAIM] = number  # claimed: answered whatever happens next
        answer = _answer(fd, number, read_size, keep)
        if answer is not None:
            spans = answer.spans
            flat = array("q", [bound for span in spans for bound in span])
            flat.extend(spans.gaps)
            head = _HEAD.pack(
                number, answer.offset, answer.length, len(spans), answer.head, answer.tail
            )
            write_all(out, head + flat.tobytes())
        number += 1


def _answer(fd: int, number: int, read_size: int, keep: KeepSpans) -> Answer | None:
    """What ``keep`` says of the buffer the framer makes of read ``number``; None: no buffer."""
    start = number * read_size
    chunk = os.pread(fd, read_size, start)
    # a line is carried in unless the previous read ended with its line end
    bounds = kept_bounds(chunk, carried=start > 0 and os.pread(fd, 1, start - 1) != b"\n")
    if bounds is None:
        return None
    begin, end = bounds
    body = chunk[begin:end]
    spans = keep(body)
    gaps, done = [], 0
    for span_start, span_end in spans:
        gaps.append(body.count(b"\n", done, span_start))
        done = span_end
    gaps.append(body.count(b"\n", done))
    edges = _edge(body[:_EDGE]), _edge(body[-_EDGE:])
    return Answer(start + begin, len(body), *edges, CountedSpans(spans, gaps))
