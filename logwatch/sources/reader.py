"""One followed file: its descriptor, identity, read position and line framer."""

from __future__ import annotations

import enum
import os

from logwatch.model import Line, Origin
from logwatch.sources.framing import KeepSpans, LineFramer
from logwatch.sources.identity import HEAD_MAX, MARKER_MAX, read_head, read_marker
from logwatch.store import FileState


class ReaderState(enum.Enum):
    ACTIVE = "active"  # follows its path
    DRAINING = "draining"  # rotated away or deleted: read to the end, then retire
    IDLE = "idle"  # quiet and fully committed: fd given back, reopened on growth


class FileReader:
    """Reads one file by ``pread`` from its own position; never in text mode."""

    def __init__(
        self,
        *,
        uid: str,
        source: str,
        path: str,
        fd: int,
        st: os.stat_result,
        head: bytes,
        offset: int,
        lineno: int,
        marker: bytes,
        max_line_bytes: int,
        now: float,
        encoding: str = "utf-8",
    ) -> None:
        self.uid = uid
        self.source = source
        self.path = path
        self.fd: int | None = fd
        self.dev, self.ino = st.st_dev, st.st_ino
        self.size, self.mtime_ns = st.st_size, st.st_mtime_ns  # as of the last fstat
        self.head = head
        self.pos = offset  # next byte to read; past framer.offset by a partial line
        self.tail = marker  # the last bytes before pos, as we read them
        self.framer = LineFramer(
            offset=offset, lineno=lineno, max_line_bytes=max_line_bytes, encoding=encoding
        )
        self.state = ReaderState.ACTIVE
        self.is_copy = False  # a rotated copy: nobody writes to it, retire at its end
        self.writer_closed = False  # closed by a writer while draining: a tick of quiet will do
        self.linked = False  # the path is a symlink: events name the target, not the path
        self.at_eof = False  # the last read came up short: nothing more until it grows
        self.changed_at = now  # last growth seen; quiet periods are measured from here
        self.looked_at = now  # last look by the tailer (``Tailer._refresh``)
        self.committed = (offset, lineno, marker)  # the last checkpoint handed out
        self.keep: KeepSpans | None = None  # passes over lines no rule can alert on

    @property
    def origin(self) -> Origin:
        return Origin(self.source, self.path, self.uid)

    @property
    def behind(self) -> bool:
        return self.fd is not None and (self.size > self.pos or not self.at_eof)

    def read(self, budget: int, read_chunk: int) -> tuple[list[Line], int, bool]:
        """Read up to ``budget`` bytes; return the complete lines, bytes read and at-EOF."""
        assert self.fd is not None
        lines: list[Line] = []
        done = 0
        at_eof = False
        while done < budget:
            want = min(read_chunk, budget - done)
            data = os.pread(self.fd, want, self.pos)
            if data:
                lines += self.framer.feed(data, self.keep)
                self.pos += len(data)
                self.tail = (self.tail + data[-MARKER_MAX:])[-MARKER_MAX:]
                done += len(data)
            if len(data) < want:
                at_eof = True  # a short read of a regular file: nothing more for now
                break
        self.at_eof = at_eof
        if self.pos > self.size:
            self.size = self.pos
        if len(self.head) < HEAD_MAX and self.pos > len(self.head):
            self.head = read_head(self.fd)
        return lines, done, at_eof

    def tail_intact(self) -> bool:
        """Are the bytes before our position still the ones we read there?"""
        assert self.fd is not None
        return os.pread(self.fd, len(self.tail), self.pos - len(self.tail)) == self.tail

    def marker_at(self, offset: int) -> bytes:
        length = min(MARKER_MAX, offset)
        start = self.pos - len(self.tail)
        if start <= offset - length and offset <= self.pos:
            # what we read, not what is there now: a checkpoint must describe our bytes
            return self.tail[offset - length - start : offset - start]
        if offset == self.committed[0]:
            return self.committed[2]
        if self.fd is not None:
            try:
                return read_marker(self.fd, offset)
            except OSError:
                pass  # a failing file is being retired; an empty marker only weakens a resume
        return b""  # cannot be checked on resume

    def state_at(self, offset: int, lineno: int, *, state: str = "active") -> FileState:
        return FileState(
            uid=self.uid, source=self.source, path=self.path, dev=self.dev, ino=self.ino,
            head=self.head, offset=offset, lineno=lineno, marker=self.marker_at(offset),
            state=state,
        )

    def rewind_to_line(self) -> None:
        """Forget a partial last line: the next read starts again at the line's start."""
        offset, lineno = self.framer.offset, self.framer.lineno
        if self.pos != offset:
            self.tail = self.marker_at(offset)
            self.pos = offset
            self.framer = LineFramer(
                offset=offset, lineno=lineno, max_line_bytes=self.framer.max_line_bytes,
                encoding=self.framer.encoding,
            )

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


_COUNT_BLOCK = 1 << 20


def last_line_end(fd: int, size: int) -> tuple[int, int]:
    """Offset just past the last newline before ``size``, and the number of the next line.

    Counting every newline costs one read of the file, once, and keeps line
    numbers true for files we start following at their end.
    """
    newlines = 0
    end = 0
    position = 0
    while position < size:
        block = os.pread(fd, min(_COUNT_BLOCK, size - position), position)
        if not block:
            break
        newlines += block.count(b"\n")
        last = block.rfind(b"\n")
        if last >= 0:
            end = position + last + 1
        position += len(block)
    return end, newlines + 1
