"""Paths -> Chunks: follow every file the sources match, across rotation, truncation and restarts.

The caller's thread does all the work in ``poll``; watchdog's thread only sets
a wake-up flag. Each poll reconciles what is on disk with what we follow, at a
cost that follows what changed, not how many files are followed:

- ``fstat`` an open reader and ``stat`` its path: growth, a rotation (the path
  names another inode, or none), a truncation (smaller than our position, or
  the bytes before it changed). Every tick for files in polled directories, for
  symlinks (their writes are reported under the target's name) and for
  draining files; an active file in a watched directory only on a hint for its
  path (modify, close, move, delete) or its directory, and, as a safety net for
  lost events, every ``verify_interval``;
- expand the globs again on a namespace hint, when a polled directory changed
  (one ``stat`` each per tick), when a watched one changed without a hint (one
  ``stat`` each every ``scan_interval``: lost events), and every
  ``scan_interval`` while some directory is polled; ``stat`` the idle files
  (their descriptors were given back) of polled directories at each scan, those
  of watched ones on a hint or every ``verify_interval``;
- open again a matched path that refused to open (permissions) when an event
  names it (a chmod sends one) and at each scan: no directory changed, so no
  glob would find it again;
- then read what is new, at most ``max_batch_bytes`` per poll, round robin.

Files with nothing to do leave the per-poll set (``_hot``); a quiet one comes
back when ``close_inactive`` may have come. With every directory watched and
nothing written, no poll is due before the next scan.

Nothing here depends on an event arriving: events only make it sooner.
"""

from __future__ import annotations

import errno
import functools
import heapq
import logging
import os
import stat
import time
import uuid
from collections.abc import Callable, Collection, Container, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from logwatch.model import Line, Origin
from logwatch.sources.discovery import expand, watch_dirs
from logwatch.sources.framing import KeepSpans, LineFramer
from logwatch.sources.host import FD_RESERVE, HostFacts, limit_warnings, read_host
from logwatch.sources.identity import (
    Probe,
    Verdict,
    heads_agree,
    marker_holds,
    match,
    read_head,
    read_marker,
)
from logwatch.sources.reader import FileReader, ReaderState, last_line_end
from logwatch.sources.rotation import (
    find_rotated,
    live_name,
    open_readonly,
    rotated_siblings,
)
from logwatch.sources.values import Chunk, FileStat, SourceSpec, TailCounters, Unreadable
from logwatch.sources.watcher import DirectoryWatcher, HintBatch, Hints
from logwatch.store import FileState

logger = logging.getLogger(__name__)

FORGOTTEN_KEPT = 10_000  # retired files remembered, so a rediscovered one is not read again


@dataclass(frozen=True, slots=True)
class _Refused:
    """A matched path that open() refused (permissions): tried again until it opens."""

    source: str
    error: str
    whole: bool  # it replaced a followed file: read it whole once it opens
    # (dev, ino, size) when first refused, where the start policy then said "from its
    # end": once it opens, what it held then is passed over as it would have been
    skip: tuple[int, int, int] | None = None


_NO_DESCRIPTOR = f"[Errno {errno.EMFILE}]"  # a _Refused's error, past the open-file cap


@functools.lru_cache(maxsize=65_536)
def _parent(path: str) -> str:
    """The directory of ``path``, as the watcher names it; asked every tick, so cached."""
    return str(Path(path).parent)


class Tailer:
    """Follow the files of some sources; hand out their new complete lines.

    ``known`` are the committed file states from the store; ``first_start``
    says there were none ever, so files present now follow ``start_at``.
    Intervals are in seconds of ``clock``: ``tick_s`` between looks at open
    files that events do not cover, ``scan_interval_s`` between glob expansions
    without a hint in polled directories (and checks of watched ones for lost
    events), ``verify_interval_s`` between looks at every file whatever the
    events said, ``rotate_wait_s`` of quiet before a drained rotated file is closed,
    ``close_inactive_s`` of quiet before an idle file's fd is given back.
    ``host`` reads the mount table and limits, once, at ``start``.
    Not thread-safe: one thread calls everything but ``wake``.
    """

    def __init__(
        self,
        sources: Sequence[SourceSpec],
        known: Sequence[FileState],
        *,
        first_start: bool,
        read_chunk: int = 1 << 20,  # each read's last line costs an event: few, big reads
        max_batch_bytes: int = 1 << 20,
        tick_s: float = 1.0,
        scan_interval_s: float = 10.0,
        verify_interval_s: float = 30.0,
        rotate_wait_s: float = 30.0,
        close_inactive_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        new_uid: Callable[[], str] = lambda: uuid.uuid4().hex,
        host: Callable[[], HostFacts] = read_host,
    ) -> None:
        self._specs = {source.name: source for source in sources}
        self._read_chunk = read_chunk
        self._max_batch_bytes = max_batch_bytes
        self._tick_s = tick_s
        self._scan_interval_s = scan_interval_s
        self._verify_interval_s = verify_interval_s
        self._rotate_wait_s = rotate_wait_s
        self._close_inactive_s = close_inactive_s
        self._clock = clock
        self._new_uid = new_uid
        self._host = host
        self._known = {row.uid: row for row in known}  # files not followed now
        # committed files to look for (among rotated siblings) if no glob finds them
        self._unclaimed = {row.uid for row in known if row.state == "active"}
        self._fresh_sources = set(self._specs) if first_start else set()  # start_at applies
        self._recheck_sources: set[str] = set()  # globs changed: drop files they lost
        self._readers: dict[str, FileReader] = {}
        self._by_path: dict[str, str] = {}  # followed path -> uid of its active/idle reader
        self._open_inodes: dict[tuple[int, int], FileReader] = {}
        self._out: dict[str, tuple[Origin, list[Line]]] = {}
        self._passed: dict[str, tuple[int, int]] = {}  # uid -> lines, bytes left unframed
        self._keep: Mapping[str, KeepSpans | None] = {}  # source -> filter (``coldlines``)
        self._unfiltered: frozenset[str] = frozenset()  # uids framed whole all the same
        self._retired: list[str] = []
        self._moved: dict[str, None] = {}  # uids followed under a new name since the last call
        self._hints = Hints()
        self._watcher = DirectoryWatcher(self._hints)
        self._next_tick = float("-inf")
        self._next_scan = float("-inf")
        self._next_verify = float("-inf")
        self._rescan_requested = True  # the globs were never expanded, or changed
        # Uids of the readers each poll looks at, reads and settles: those not known to
        # be quiet (an ordered dict as a set, so reads go round robin in a stable order).
        self._hot: dict[str, None] = {}
        self._timers: list[tuple[float, str]] = []  # (when, uid): a quiet reader comes back
        self._timed: set[str] = set()  # uids with an entry in _timers
        self._evented: frozenset[str] = frozenset()  # the watcher's file_events, as last seen
        self._round_robin = 0
        self._reported: set[str] = set()
        # Matched paths that could not be opened. A chmod changes neither the directory
        # nor any name in it, so no scan would glob them again: they are tried on their
        # own events (attrib, modify, close) and at each scan. Usually empty: free.
        self._refused: dict[str, _Refused] = {}
        self._max_open: int | None = None  # log files held open at once; set by ``start``
        self.counters = TailCounters()

    # -- the API the pipeline drives -----------------------------------------

    def start(self) -> None:
        """Start watching directories; without it, polling alone still finds everything."""
        host = self._host()
        specs = self._specs.values()
        dirs, files = len(watch_dirs(specs)), len(expand(specs))
        for warning in limit_warnings(host, dirs=dirs, files=files):
            logger.warning("%s", warning)
        if host.open_files is not None:
            # leave the store, the notifiers' sockets and the inotify instance their
            # descriptors: log files taking them all would stall delivery, not reading
            self._max_open = max(host.open_files - FD_RESERVE, host.open_files // 2)
        self._watcher.start(host.mounts)

    def stop(self) -> None:
        self._watcher.stop()
        for reader in self._readers.values():
            self._closed(reader)

    def wake(self) -> None:
        """Make a blocked ``wait`` return (signal handlers use it)."""
        self._hints.wake()

    def wait(self, timeout_s: float) -> None:
        """Block until a filesystem hint arrives, the next poll has work, or the timeout."""
        if self._out or any(reader.behind for reader in self._hot_readers()):
            return
        self._hints.wait(max(0.0, min(timeout_s, self._next_due() - self._clock())))

    def poll(self) -> list[Chunk]:
        now = self._clock()
        hints = self._hints.drain()
        tick = now >= self._next_tick
        if tick:
            self._next_tick = now + self._tick_s
        verify = now >= self._next_verify
        if verify:
            self._next_verify = now + self._verify_interval_s
        rescan = hints.rescan or self._rescan_requested
        lost: frozenset[str] = frozenset()  # watched directories changed without an event
        scan_due = verify or now >= self._next_scan
        if scan_due:
            self._next_scan = now + self._scan_interval_s
            lost = self._watcher.drifted()
            # a watched directory's mtime tells whether its names changed: the globs
            # are expanded again only then; a polled one's is checked every tick
            rescan = rescan or bool(lost) or self._watcher.polling
        elif tick and self._watcher.unsettled:
            # changed within its mtime's granularity: checked again as soon as it can tell
            lost = self._watcher.drifted(settled_only=True)
            rescan = rescan or bool(lost)
        rescan = rescan or (tick and self._watcher.changed())
        self._track_watches()
        while self._timers and self._timers[0][0] <= now:
            _, uid = heapq.heappop(self._timers)
            self._timed.discard(uid)
            if uid in self._readers:
                self._hot[uid] = None
        hot = dict(self._hot)  # before looks and the scan add the files they find
        # first the files hints name: a path an idle file left is free before the globs
        targeted = self._targeted(hints, lost, everything=verify)
        for reader, named in targeted.values():
            if self._readers.get(reader.uid) is not reader:
                continue  # replaced earlier in this loop
            if reader.state is ReaderState.IDLE:
                self._wake_idle(reader, now)
            elif not named and self._unchanged(reader):
                reader.looked_at = now  # most are: a stat says so for less than a look
            else:
                self._look(reader, now)
        if self._refused and not rescan:  # a rescan tries them all anyway
            self._retry_refused(hints, now, everything=scan_due)
        if rescan:
            self._scan(now, looked=targeted)
        for uid in hot:
            current = self._readers.get(uid)
            if current is None or uid in targeted or current.state is ReaderState.IDLE:
                continue
            # a rescan: names changed, so a followed path may name another file now
            if rescan or (tick and self._due(current, now)):
                self._look(current, now)
        for path in hints.closed:
            self._writer_closed(path, now)
        if self._unclaimed:
            # an idle file lost its path: look for it before reading on
            self._scan(now)
        self._read(now)
        self._settle(now)
        self._cool(now)
        return self._take_output()

    def checkpoint(self, uid: str, offset: int, lineno: int) -> FileState:
        """The state to persist when everything before ``offset`` is safely handled."""
        reader = self._readers.get(uid)
        if reader is None:
            row = self._known.get(uid)
            if row is None:
                raise KeyError(f"no file with uid {uid} is or was followed")
            if row.state == "gone" or (row.offset, row.lineno) == (offset, lineno):
                # a retired file's final state says where it ended; lines read past
                # that (from a truncated live file) cannot be re-read from it anyway
                return row
            logger.debug("checkpoint of closed %s off its end; its marker is unknown", row.path)
            return replace(row, offset=offset, lineno=lineno, marker=b"")
        state = reader.state_at(offset, lineno)
        reader.committed = (offset, lineno, state.marker)
        if offset == reader.framer.offset:
            self._hot[uid] = None  # everything read is safe: its fd may go back now
        return state

    def retired(self) -> list[str]:
        """Uids closed since the last call: their last lines were handed out already."""
        retired, self._retired = self._retired, []
        return retired

    def moved(self) -> list[str]:
        """Uids followed under a new name since the last call (rotated to a name a glob
        matches): their committed path names another file now, until committed again."""
        moved, self._moved = list(self._moved), {}
        return [uid for uid in moved if uid in self._readers]

    def recommit(self, uid: str) -> FileState | None:
        """The last checkpoint handed out for ``uid``, under the name it has now (None:
        no longer followed)."""
        reader = self._readers.get(uid)
        return None if reader is None else reader.state_at(*reader.committed[:2])

    def final(self, uid: str) -> FileState | None:
        """The last state of a retired file (state "gone"), for a caller that holds none:
        a committed file that was lost while we were stopped is retired unread."""
        row = self._known.get(uid)
        return row if row is not None and row.state == "gone" else None

    def set_filters(
        self, filters: Mapping[str, KeepSpans | None], *, unfiltered: Collection[str] = ()
    ) -> None:
        """Per source, which lines to frame (the rest are counted, not framed).

        ``unfiltered``: files (uids) to frame whole all the same.
        """
        self._keep = dict(filters)
        self._unfiltered = frozenset(unfiltered)
        for reader in self._readers.values():
            reader.keep = self._keep_for(reader.uid, reader.source)

    def _keep_for(self, uid: str, source: str) -> KeepSpans | None:
        return None if uid in self._unfiltered else self._keep.get(source)

    def reconfigure(self, sources: Sequence[SourceSpec]) -> None:
        """Follow a new set of sources; files that stay keep their readers and offsets."""
        specs = {source.name: source for source in sources}
        for reader in list(self._readers.values()):
            if reader.source not in specs:
                self._out.pop(reader.uid, None)  # its source is gone: nobody takes its lines
                self._retire(reader, emit=False)
        # a source added by a reload starts like a first start: no flood of its history
        self._fresh_sources |= set(specs) - set(self._specs)
        self._recheck_sources |= {
            name for name, spec in specs.items() if self._specs.get(name, spec) != spec
        }
        self._specs = specs
        self._rescan_requested = True
        self._hints.wake()

    def unreadable(self) -> list[Unreadable]:
        """Matched paths that cannot be opened now; each is tried again when it changes."""
        return [
            Unreadable(path=path, source=refused.source, error=refused.error)
            for path, refused in sorted(self._refused.items())
        ]

    def stats(self) -> list[FileStat]:
        return [
            FileStat(
                uid=reader.uid, path=reader.path, source=reader.source, offset=reader.pos,
                size=reader.size, lag_bytes=max(reader.size - reader.pos, 0),
                state=reader.state.value,
            )
            for reader in self._readers.values()
        ]

    @property
    def watched_dirs(self) -> frozenset[str]:
        return self._watcher.watched

    @property
    def polled_dirs(self) -> frozenset[str]:
        return self._watcher.polled

    # -- reconcile -------------------------------------------------------------

    def _scan(self, now: float, *, looked: Container[str] = ()) -> None:
        """Expand the globs; first reopen the idle files of polled directories that
        changed (those of watched ones have hints), but for those ``looked`` at."""
        self._next_scan = now + self._scan_interval_s
        self._rescan_requested = False
        for reader in [
            r for r in self._readers.values()
            if r.state is ReaderState.IDLE and not self._trusted(r) and r.uid not in looked
        ]:
            self._wake_idle(reader, now)
        # the watches first: what changes after they exist is reported
        self._watcher.sync(watch_dirs(self._specs.values()))
        self._track_watches()
        owners = expand(self._specs.values())
        for path in [path for path in self._refused if path not in owners]:
            del self._refused[path]  # deleted, or no glob matches it any more
        for path, source in owners.items():
            if path not in self._by_path:
                self._discover(path, source, now)
        for reader in list(self._readers.values()):
            if reader.source in self._recheck_sources and owners.get(reader.path) != reader.source:
                logger.info("%s is no longer matched by source %s", reader.path, reader.source)
                self._retire(reader)
        self._recheck_sources.clear()
        self._fresh_sources.clear()
        for uid in sorted(self._unclaimed):
            row = self._known.get(uid)
            if row is not None and row.path in self._refused:
                continue  # still there, only unreadable: resumed by identity once it opens
            if row is not None and row.source in self._specs:
                self._catch_up(row, now)
        self._unclaimed.clear()

    def _targeted(
        self, hints: HintBatch, lost: frozenset[str], *, everything: bool
    ) -> dict[str, tuple[FileReader, bool]]:
        """The readers to look at (or reopen) in this poll whatever their schedule, each
        with whether a hint named its path: those, those in a directory named by one
        (its watch was just armed, it went away) or whose events were lost; all of
        them for the safety net."""
        if everything or hints.paths is None:
            return {uid: (reader, False) for uid, reader in self._readers.items()}
        found: dict[str, tuple[FileReader, bool]] = {}
        dirs = lost | {path for path in hints.paths if path in self._watcher.directories}
        if dirs:
            for reader in self._readers.values():
                if _parent(reader.path) in dirs:
                    found[reader.uid] = (reader, False)
        for path in hints.paths:
            uid = self._by_path.get(path)
            if uid is not None and uid in self._readers:
                found[uid] = (self._readers[uid], True)
        return found

    def _trusted(self, reader: FileReader) -> bool:
        """Do events report the writes to this reader's file?"""
        return not reader.linked and _parent(reader.path) in self._evented

    def _quiet(self, reader: FileReader) -> bool:
        """Nothing to do until an event (or the safety net) says otherwise?"""
        return (
            reader.state is ReaderState.ACTIVE
            and not reader.behind
            and self._trusted(reader)
        )

    def _unchanged(self, reader: FileReader) -> bool:
        """The safety net's glance at an active file: is its path still our file, of
        the size and mtime we know? Then a look would find nothing (one ``stat``)."""
        if reader.state is not ReaderState.ACTIVE:
            return False
        try:
            # os.stat, not Path.stat: this runs for every open file in the safety net
            st = os.stat(reader.path)  # noqa: PTH116
        except OSError:
            return False
        return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns) == (
            reader.ino, reader.dev, reader.size, reader.mtime_ns)

    def _track_watches(self) -> None:
        """Files in a directory that stopped being watched need ticks again."""
        events = self._watcher.file_events
        if events is not self._evented:
            self._evented = events
            for reader in self._readers.values():
                if not self._trusted(reader):
                    self._hot[reader.uid] = None

    def _due(self, reader: FileReader, now: float) -> bool:
        """Must this tick look at ``reader``? Not if events report its writes, unless
        the safety net (``verify_interval``) is due: events are hints, never the truth."""
        return (
            reader.state is not ReaderState.ACTIVE
            or not self._trusted(reader)
            or now - reader.looked_at >= self._verify_interval_s
        )

    def _next_due(self) -> float:
        """When a poll has work to do without a hint."""
        if self._hot or self._watcher.polling or self._watcher.unsettled:
            return self._next_tick
        due = min(self._next_scan, self._next_verify)
        return min(due, self._timers[0][0]) if self._timers else due

    def _hot_readers(self) -> list[FileReader]:
        return [reader for uid in self._hot if (reader := self._readers.get(uid)) is not None]

    def _cool(self, now: float) -> None:
        """Let readers that events cover and that have nothing to do leave ``_hot``.

        An open one comes back when ``close_inactive`` may have come, to give its
        fd back; if that time has passed, its lines were not committed yet, and the
        ``checkpoint`` that commits them brings it back.
        """
        for uid in list(self._hot):
            reader = self._readers.get(uid)
            if reader is None or reader.fd is None:
                del self._hot[uid]
            elif self._quiet(reader):
                del self._hot[uid]
                when = reader.changed_at + self._close_inactive_s
                if when > now and uid not in self._timed:
                    self._timed.add(uid)
                    heapq.heappush(self._timers, (when, uid))

    def _refresh(self, reader: FileReader, now: float) -> None:
        assert reader.fd is not None
        reader.looked_at = now
        if reader.state is ReaderState.ACTIVE:
            st = self._check_path(reader, now)
        else:
            st = os.fstat(reader.fd)
        changed = st.st_size != reader.size or st.st_mtime_ns != reader.mtime_ns
        if st.st_size < reader.pos or (changed and not reader.tail_intact()):
            self._truncated(reader, now)
            return
        if st.st_size > reader.size:
            reader.changed_at = now
            reader.at_eof = False
        reader.size, reader.mtime_ns = st.st_size, st.st_mtime_ns

    def _check_path(self, reader: FileReader, now: float) -> os.stat_result:
        """Does our path still name our file? If not, drain ours and follow the new one.
        Returns what ``fstat`` of our file says (one ``stat`` while the path names it)."""
        assert reader.fd is not None
        try:
            # os.stat, not Path.stat: this runs for every open file on every look
            current: os.stat_result | None = os.stat(reader.path)  # noqa: PTH116
        except OSError:
            current = None
        if current is not None and (current.st_dev, current.st_ino) == (reader.dev, reader.ino):
            return current  # the same inode: fstat would say the same
        st = os.fstat(reader.fd)
        self.counters.rotations += 1
        if current is None:
            logger.info("%s was deleted or moved away; reading it to its end", reader.path)
        else:
            logger.info("rotated %s (inode %d -> %d): reading the old file to its end",
                        reader.path, reader.ino, current.st_ino)
        reader.state = ReaderState.DRAINING
        reader.changed_at = now  # the writer may not have reopened yet: give it rotate_wait
        self._by_path.pop(reader.path, None)
        if current is not None and stat.S_ISREG(current.st_mode):
            self._discover(reader.path, reader.source, now, whole=True)
        return st

    def _writer_closed(self, path: str, now: float) -> None:
        """A writer closed ``path``: if that is a rotated file, it has likely moved on."""
        try:
            reader = self._reader_of(Path(path).stat())
        except OSError:
            return  # deleted meanwhile: rotate_wait decides
        if reader is not None and reader.state is ReaderState.ACTIVE and reader.path != path:
            self._look(reader, now)  # renamed, and no tick has seen it yet
        if (
            reader is not None
            and self._readers.get(reader.uid) is reader
            and reader.state is ReaderState.DRAINING
        ):
            reader.writer_closed = True

    def _truncated(self, reader: FileReader, now: float) -> None:
        """Same inode, other bytes: copytruncate, ``> file``, or a rewrite in place."""
        self.counters.truncations += 1
        path, source = reader.path, reader.source
        if reader.state is not ReaderState.ACTIVE:
            self._lost(reader, f"{path} was truncated while we drained it")
            self._retire(reader)
            return
        found = find_rotated(path, reader.head, reader.pos, reader.tail, skip=self._followed)
        prefix = None if found is not None else find_rotated(
            path, reader.head, 0, b"", skip=self._followed)
        if prefix is not None and prefix.fd is not None and prefix.st.st_size < reader.pos:
            # copied before we read on: what the writer added between logrotate's copy and
            # its truncate reached us but not the copy, which holds nothing we have not read
            logger.info("%s was copied and truncated; %s holds no unread bytes",
                        path, prefix.path)
            self._end_at_copy(reader, prefix.fd, prefix.path, prefix.st)
        elif found is None or found.fd is None:
            if prefix is not None and prefix.fd is not None:
                os.close(prefix.fd)
            self._lost(reader, f"{path} was truncated; no rotated copy holds offset {reader.pos}")
            self._retire(reader)
        else:
            # copytruncate: the bytes we had not read yet are in the copy, under the same uid
            logger.info("%s was copied and truncated: reading %s from offset %d first",
                        path, found.path, reader.pos)
            self.counters.copies_caught_up += 1
            self._switch_to_copy(reader, found.fd, found.path, found.st, now)
        self._by_path.pop(path, None)
        try:
            fd = open_readonly(path)
        except OSError:
            return  # gone meanwhile; the next scan finds whatever replaces it
        try:
            self._by_path[path] = self._follow_new(fd, path, source, now, from_end=False).uid
        except OSError as exc:
            os.close(fd)
            logger.warning("cannot read %s: %s", path, exc)

    def _lost(self, reader: FileReader, why: str) -> None:
        lost = max(reader.size - reader.pos, 0)
        self.counters.bytes_lost += lost
        logger.warning("%s: %d unread bytes lost (more if written since the last read)", why, lost)

    def _switch_to_copy(
        self, reader: FileReader, fd: int, path: str, st: os.stat_result, now: float
    ) -> None:
        self._closed(reader)
        reader.fd, reader.path = fd, path
        reader.dev, reader.ino, reader.size, reader.mtime_ns = (
            st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        self._opened(reader)
        reader.state = ReaderState.DRAINING
        reader.is_copy = True
        reader.at_eof = False
        reader.changed_at = now

    def _end_at_copy(self, reader: FileReader, fd: int, path: str, st: os.stat_result) -> None:
        """Retire ``reader`` as the copy at its end, so neither a scan nor a restart reads it."""
        self._emit(reader, reader.framer.flush())
        self._closed(reader)
        reader.fd, reader.path = fd, path
        reader.dev, reader.ino, reader.size, reader.mtime_ns = (
            st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        reader.pos, reader.tail = st.st_size, read_marker(fd, st.st_size)
        reader.framer = LineFramer(offset=st.st_size, lineno=last_line_end(fd, st.st_size)[1],
                                   max_line_bytes=reader.framer.max_line_bytes,
                                   encoding=reader.framer.encoding)
        self._opened(reader)
        self._retire(reader)

    def _wake_idle(self, reader: FileReader, now: float) -> None:
        """Reopen an idle file that changed; if its path names another file, look for it."""
        try:
            # os.stat, not Path.stat: this runs for every open file on every look
            current: os.stat_result | None = os.stat(reader.path)  # noqa: PTH116
        except OSError:
            current = None
        if current is not None and (current.st_dev, current.st_ino) == (reader.dev, reader.ino):
            if (current.st_size, current.st_mtime_ns) == (reader.size, reader.mtime_ns):
                return
            try:
                fd = self._open(reader.path)
            except OSError:
                return
            try:
                st = os.fstat(fd)
            except OSError:
                st = current
            if (st.st_dev, st.st_ino) != (reader.dev, reader.ino) or st is current:
                os.close(fd)  # replaced between stat and open: the next look sorts it out
                return
            reader.fd = fd
            reader.state = ReaderState.ACTIVE
            reader.at_eof = False
            self._opened(reader)
            self._look(reader, now)
            return
        # rotated or deleted while we held no descriptor: it is a committed file to find
        del self._readers[reader.uid]
        self._by_path.pop(reader.path, None)
        self._known[reader.uid] = reader.state_at(*reader.committed[:2])
        self._unclaimed.add(reader.uid)

    def _catch_up(self, row: FileState, now: float) -> None:
        """A committed file no glob found again: read the rest from where it was rotated to."""
        found = find_rotated(row.path, row.head, row.offset, row.marker, skip=self._followed,
                             compressed=True)
        if found is None or found.fd is None:
            if found is None:
                logger.warning("lost %s (at offset %d): it is gone and no rotated sibling "
                               "holds it", row.path, row.offset)
            else:
                logger.warning("the rest of %s after offset %d was compressed into %s "
                               "before it was read", row.path, row.offset, found.path)
            self._known[row.uid] = replace(row, state="gone")
            self._retired.append(row.uid)
        else:
            logger.info("%s was rotated to %s: reading it from offset %d", row.path,
                        found.path, row.offset)
            del self._known[row.uid]
            reader = self._new_reader(
                row.uid, row.source, found.path, found.fd, found.st, found.head, now,
                offset=row.offset, lineno=row.lineno, marker=row.marker,
            )
            reader.state = ReaderState.DRAINING
        # generations rotated after it were never seen: read them whole. If it is gone
        # altogether (pruned by `rotate N`), the siblings written since it was last
        # committed are; ones we read before resume by identity.
        newer = found.newer if found is not None else _written_since(row)
        for path in reversed(newer):
            try:
                fd = open_readonly(path)
            except OSError:
                continue
            if (drained := self._adopt(fd, path, row.source, now, whole=True)) is not None:
                drained.state = ReaderState.DRAINING

    # -- opening files ---------------------------------------------------------

    def _retry_refused(self, hints: HintBatch, now: float, *, everything: bool) -> None:
        """Open again the refused paths an event names (a chmod or chown sends an attrib
        event, a write a modify), or all of them when ``everything`` (the scan's turn)."""
        for path, refused in list(self._refused.items()):
            if path in self._by_path:
                del self._refused[path]  # followed by now, under a name it was rotated to
            elif everything or hints.paths is None or path in hints.paths:
                self._discover(path, refused.source, now, whole=refused.whole)

    def _discover(self, path: str, source: str, now: float, *, whole: bool = False) -> None:
        refused = self._refused.pop(path, None)
        whole = whole or (refused is not None and refused.whole)
        try:
            fd = self._open(path)
        except OSError as exc:
            if not isinstance(exc, FileNotFoundError):
                skip = refused.skip if refused is not None else None
                if refused is None:  # once, not at every retry
                    self.counters.unreadable += 1
                    if exc.errno == errno.EMFILE:  # one warning for all: start() said why
                        self._report("EMFILE", "cannot open %s (nor further logs): %s; "
                                     "each is tried again at every scan", path, exc)
                    else:
                        logger.warning("cannot read %s: %s; trying again when it changes",
                                       path, exc)
                    if not whole and self._policy(source) == "end":
                        skip = _as_found(path)
                error = f"[Errno {exc.errno}] {exc.strerror}" if exc.strerror else str(exc)
                self._refused[path] = _Refused(source, error, whole, skip)
            return
        if refused is not None:
            logger.info("%s is readable now; following it", path)
            if not any(other.error.startswith(_NO_DESCRIPTOR) for other in self._refused.values()):
                self._reported.discard("EMFILE")  # the next time files wait, say so again
        skip = refused.skip if refused is not None else None
        reader = self._adopt(fd, path, source, now, whole=whole, skip=skip)
        if reader is not None:
            self._by_path[path] = reader.uid

    def _open(self, path: str) -> int:
        """Open a log file to follow it, unless that would take a descriptor the rest of
        the daemon needs; then it is refused like a file we may not read, and tried again."""
        if self._max_open is not None and len(self._open_inodes) >= self._max_open:
            raise OSError(errno.EMFILE, f"{self._max_open} log files open already, the "
                          f"open-file limit less {FD_RESERVE} kept for the rest", path)
        return open_readonly(path)

    def _adopt(
        self, fd: int, path: str, source: str, now: float, *, whole: bool = False,
        skip: tuple[int, int, int] | None = None,
    ) -> FileReader | None:
        """Follow the file open at ``fd``, known or new; close ``fd`` if we do not.

        ``whole``: the file continues a log we follow (it replaced a followed
        path, or is a generation rotated while we were not looking), so a new
        one is read from its start whatever the start policy says. ``skip``: the
        file as found when it was refused (``_Refused.skip``).
        """
        try:
            return self._identify(fd, path, source, now, whole=whole, skip=skip)
        except OSError as exc:
            os.close(fd)  # no I/O follows handing fd to a reader, so it is still ours
            self.counters.unreadable += 1
            self._report(path, "cannot read %s: %s", path, exc)
            return None

    def _identify(
        self, fd: int, path: str, source: str, now: float, *, whole: bool,
        skip: tuple[int, int, int] | None = None,
    ) -> FileReader | None:
        st = os.fstat(fd)
        followed = self._reader_of(st)
        if (
            followed is not None
            and followed.state is ReaderState.ACTIVE
            and followed.path != path
        ):
            self._look(followed, now)  # found under a new name before a tick saw the rename
        if not stat.S_ISREG(st.st_mode) or followed is not None:
            if followed is not None and followed.state is ReaderState.DRAINING:
                # rotated to a name the globs match too: it is simply followed there now
                followed.path, followed.state = path, ReaderState.ACTIVE
                followed.linked = Path(path).is_symlink()
                self._by_path[path] = followed.uid
                self._moved[followed.uid] = None
            os.close(fd)
            return None
        head = read_head(fd)
        if self._is_snapshot(fd, path, st, head):
            os.close(fd)
            return None
        probe = Probe(fd, st.st_dev, st.st_ino, st.st_size, head, path, source)
        verdict, row = match(probe, self._known.values())
        if verdict is Verdict.RESUME and row is not None:
            reader = self._new_reader(
                row.uid, source, path, fd, st, head, now,
                offset=row.offset, lineno=row.lineno, marker=row.marker,
            )
            del self._known[row.uid]
            self._unclaimed.discard(row.uid)
            logger.debug("resuming %s at offset %d", path, row.offset)
            return reader
        if verdict is Verdict.REWRITTEN:
            self.counters.rewritten += 1
            logger.info("%s holds other bytes at our offset: reading it from the start", path)
        elif verdict is Verdict.INODE_REUSE:
            self.counters.inode_reuses += 1
            logger.info("%s reuses the inode of a file we knew: reading it from the start", path)
        if verdict is Verdict.NEW and skip is not None and skip[:2] == (st.st_dev, st.st_ino):
            # refused when the policy said "from its end": what it held then is history
            offset, lineno = last_line_end(fd, min(skip[2], st.st_size))
            return self._new_reader(
                self._new_uid(), source, path, fd, st, head, now,
                offset=offset, lineno=lineno, marker=read_marker(fd, offset),
            )
        from_end = verdict is Verdict.NEW and self._policy(source) == "end" and not whole
        return self._follow_new(fd, path, source, now, from_end=from_end, st=st, head=head)

    def _policy(self, source: str) -> str:
        """Where a file of ``source`` found now, and never seen before, starts: "end" or
        "beginning" (its ``start_at`` in the first round, ``new_files_from`` after)."""
        spec = self._specs[source]
        return spec.start_at if source in self._fresh_sources else spec.new_files_from

    def _follow_new(
        self, fd: int, path: str, source: str, now: float, *, from_end: bool,
        st: os.stat_result | None = None, head: bytes | None = None,
    ) -> FileReader:
        """Follow a file under a new uid, from its start or from its last complete line."""
        st = os.fstat(fd) if st is None else st
        head = read_head(fd) if head is None else head
        offset, lineno = last_line_end(fd, st.st_size) if from_end else (0, 1)
        return self._new_reader(
            self._new_uid(), source, path, fd, st, head, now,
            offset=offset, lineno=lineno, marker=read_marker(fd, offset),
        )

    def _new_reader(
        self, uid: str, source: str, path: str, fd: int, st: os.stat_result, head: bytes,
        now: float, *, offset: int, lineno: int, marker: bytes,
    ) -> FileReader:
        spec = self._specs[source]
        reader = FileReader(
            uid=uid, source=source, path=path, fd=fd, st=st, head=head, offset=offset,
            lineno=lineno, marker=marker, max_line_bytes=spec.max_line_bytes, now=now,
            encoding=spec.encoding,
        )
        reader.keep = self._keep_for(uid, source)
        reader.linked = Path(path).is_symlink()
        self._readers[uid] = reader
        self._opened(reader)
        return reader

    def _reader_of(self, st: os.stat_result) -> FileReader | None:
        """The reader holding this inode open, if any: an open inode cannot be reused."""
        reader = self._open_inodes.get((st.st_dev, st.st_ino))
        return reader if reader is not None and reader.fd is not None else None

    def _opened(self, reader: FileReader) -> None:
        self._open_inodes[reader.dev, reader.ino] = reader
        self._hot[reader.uid] = None

    def _closed(self, reader: FileReader) -> None:
        if self._open_inodes.get((reader.dev, reader.ino)) is reader:
            del self._open_inodes[reader.dev, reader.ino]
        reader.close()

    def _followed(self, st: os.stat_result) -> bool:
        return self._reader_of(st) is not None

    def _is_snapshot(self, fd: int, path: str, st: os.stat_result, head: bytes) -> bool:
        """Is this a rotated copy (``copy``/``copytruncate``) of a file we follow?

        Its bytes are the live file's bytes; reading it as a new file would
        repeat them. If the live file is truncated later, the copy is found then.
        """
        live = live_name(path)
        uid = None if live is None else self._by_path.get(live)
        reader = None if uid is None else self._readers[uid]
        if reader is None or reader.fd is None:
            return False
        if not head:
            # logrotate creates the copy empty, then fills it: decide at a later scan
            return True
        if not heads_agree(head, reader.head):
            return False
        if st.st_size >= reader.pos:
            # compare with the bytes we read, not the live file's: copytruncate may have
            # truncated it already, before a tick noticed; the truncation finds this copy
            return marker_holds(fd, st.st_size, reader.pos, reader.tail)
        end = min(st.st_size, reader.size)
        return read_marker(fd, end) == read_marker(reader.fd, end)

    # -- reading and closing ---------------------------------------------------

    def _read(self, now: float) -> None:
        budget = self._max_batch_bytes
        work = [reader for reader in self._hot_readers() if reader.behind]
        if work:
            # start where the last poll stopped, so one huge file cannot starve the rest
            start = self._round_robin % len(work)
            work = work[start:] + work[:start]
            self._round_robin += 1
        while work and budget > 0:
            for reader in list(work):
                lines, read, at_eof = self._read_some(reader, min(self._read_chunk, budget))
                budget -= read
                if read:
                    reader.changed_at = now
                self._emit(reader, lines)
                if at_eof:
                    work.remove(reader)
                if budget <= 0:
                    break

    def _read_some(self, reader: FileReader, share: int) -> tuple[list[Line], int, bool]:
        try:
            return reader.read(share, self._read_chunk)
        except OSError as exc:
            self._fail(reader, exc)
            return [], 0, True

    def _settle(self, now: float) -> None:
        """Retire drained rotated files; give the fds of quiet, committed files back."""
        for reader in self._hot_readers():
            if reader.fd is None or reader.behind:
                continue
            quiet_s = now - reader.changed_at
            if reader.state is ReaderState.DRAINING:
                wait_s = self._rotate_wait_s
                if reader.writer_closed:
                    # the app reopened its log: one quiet tick, in case another process
                    # still writes here, rather than rotate_wait
                    wait_s = min(wait_s, self._tick_s)
                if (reader.is_copy or quiet_s >= wait_s) and self._still(reader, now):
                    self._retire(reader)
            elif (
                quiet_s >= self._close_inactive_s
                and reader.committed[0] == reader.framer.offset
                and self._still(reader, now)
            ):
                reader.rewind_to_line()
                self._closed(reader)
                reader.state = ReaderState.IDLE

    def _still(self, reader: FileReader, now: float) -> bool:
        """A last look before closing: nothing written since the last tick?"""
        assert reader.fd is not None
        if os.fstat(reader.fd).st_size <= reader.pos:
            return True
        self._look(reader, now)
        return False

    def _retire(self, reader: FileReader, *, emit: bool = True) -> None:
        if emit:
            # it will not grow any more: an unterminated last line is complete as it is
            self._emit(reader, reader.framer.flush())
        final = reader.state_at(reader.framer.offset, reader.framer.lineno, state="gone")
        self._closed(reader)
        del self._readers[reader.uid]
        if self._by_path.get(reader.path) == reader.uid:
            del self._by_path[reader.path]
        self._known[reader.uid] = final
        if len(self._known) > FORGOTTEN_KEPT:
            oldest = next(uid for uid, row in self._known.items() if row.state == "gone")
            del self._known[oldest]
        self._retired.append(reader.uid)
        logger.debug("closed %s (uid %s) at offset %d", reader.path, reader.uid, reader.pos)

    def _look(self, reader: FileReader, now: float) -> None:
        try:
            self._refresh(reader, now)
        except OSError as exc:
            self._fail(reader, exc)
        if reader.fd is not None and not self._quiet(reader):
            self._hot[reader.uid] = None

    def _fail(self, reader: FileReader, exc: OSError) -> None:
        """An I/O error (EIO, ESTALE on NFS) retires just this file."""
        logger.warning("cannot read %s any more (%s); closing it", reader.path, exc)
        if self._readers.get(reader.uid) is reader:
            self._retire(reader)

    def _emit(self, reader: FileReader, lines: list[Line]) -> None:
        if not lines:
            return
        passed_lines, passed_bytes = reader.framer.take_passed()
        if passed_lines:
            before = self._passed.get(reader.uid, (0, 0))
            self._passed[reader.uid] = (before[0] + passed_lines, before[1] + passed_bytes)
        entry = self._out.get(reader.uid)
        if entry is None:
            self._out[reader.uid] = (reader.origin, lines)
        else:
            entry[1].extend(lines)
            self._out[reader.uid] = (reader.origin, entry[1])

    def _take_output(self) -> list[Chunk]:
        chunks = []
        for uid, (origin, lines) in self._out.items():
            reader = self._readers.get(uid)
            passed_lines, passed_bytes = self._passed.get(uid, (0, 0))
            # a cut last line at the end means a write() is still going on (a reader
            # can see one half done, page by page): not at the end of anything yet
            at_eof = reader is None or not (reader.behind or reader.framer.has_partial)
            chunks.append(Chunk(origin, lines, at_eof=at_eof,
                                passed_lines=passed_lines, passed_bytes=passed_bytes))
        self._out = {}
        self._passed = {}
        return chunks

    def _report(self, key: str, message: str, *args: object) -> None:
        if key not in self._reported:
            self._reported.add(key)
            logger.warning(message, *args)


def _written_since(row: FileState) -> list[str]:
    """The rotated siblings of ``row``'s path written to after it was last committed.

    They were the live file after it: an older generation (one kept from before
    the first start, where ``row``'s file was removed by hand) was last written
    before it, and is no news.
    """
    newer = []
    for path in rotated_siblings(row.path):
        try:
            written = Path(path).stat().st_mtime
        except OSError:
            continue
        if written > row.updated:
            newer.append(path)
    return newer


def _as_found(path: str) -> tuple[int, int, int] | None:
    """(dev, ino, size) of the file at ``path``, or None where even that cannot be had."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size
