"""Filesystem hints: watchdog on the log directories wakes the tailer early.

This is the only module that imports watchdog. Its events are a latency hint,
never the truth: inotify drops events silently on queue overflow, sees nothing
on network filesystems and goes quiet for good when the watched directory is
deleted. The tailer's reconcile loop is correct without any event; this module
only makes it prompt. Directories that cannot be watched (missing, watch
limits, no inotify, a network filesystem) are polled instead: one ``stat``
per directory per tick, rescanning when its mtime or inode changes. A watched
directory is ``stat``ed only now and then (``drifted``): a changed mtime that
no event announced means events were lost there.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import watchdog.events
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from logwatch.sources.discovery import Scope
from logwatch.sources.host import Mount, network_filesystem

logger = logging.getLogger(__name__)

# watchdog 7 reports a chmod or chown (IN_ATTRIB) as its own event, earlier ones as a
# modify: it is how a file that could not be opened says it may open now
_ATTRIB: list[type[FileSystemEvent]] = (
    [watchdog.events.FileAttribEvent] if hasattr(watchdog.events, "FileAttribEvent") else []
)
# opened/closed-without-write are left out: our own reads would wake us up
_EVENTS: dict[Scope, list[type[FileSystemEvent]]] = {
    Scope.FILES: [
        FileCreatedEvent, DirCreatedEvent, FileDeletedEvent, DirDeletedEvent,
        FileMovedEvent, DirMovedEvent, FileModifiedEvent, FileClosedEvent, *_ATTRIB,
    ],
    # e.g. /var/log itself, above apps/*/: its busy files must not wake us
    Scope.SUBDIRS: [DirCreatedEvent, DirDeletedEvent, DirMovedEvent],
}
_NAMESPACE_EVENTS = frozenset({"created", "deleted", "moved"})
# A directory changed this recently may change again within its mtime's granularity
# (coarse kernel clock; 2 s on FAT) unseen by a later stat: not a baseline to trust.
_RACY_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class HintBatch:
    rescan: bool  # entries were created, moved or deleted: expand the globs again
    paths: frozenset[str] | None  # paths that changed; None: too many to list, check all
    closed: frozenset[str] = frozenset()  # of those, files a writer closed (IN_CLOSE_WRITE)


class Hints:
    """The one thing shared with the observer thread: a wake-up flag and what changed."""

    MAX_PATHS = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._paths: set[str] = set()
        self._closed: set[str] = set()
        self._rescan = False
        self._overflow = False

    def note(self, paths: tuple[str, ...], *, rescan: bool, closed: bool = False) -> None:
        with self._lock:
            self._rescan |= rescan
            if not self._overflow:
                self._paths.update(paths)
                if closed:
                    self._closed.update(paths)
                if len(self._paths) > self.MAX_PATHS:
                    self._overflow = True
                    self._paths.clear()
                    self._closed.clear()
            self._event.set()

    def wake(self) -> None:
        self._event.set()

    def wait(self, timeout_s: float) -> None:
        self._event.wait(timeout_s)

    def drain(self) -> HintBatch:
        with self._lock:
            batch = HintBatch(
                self._rescan,
                None if self._overflow else frozenset(self._paths),
                frozenset(self._closed),
            )
            self._paths, self._closed = set(), set()
            self._rescan = self._overflow = False
            self._event.clear()
        return batch


class _Handler(FileSystemEventHandler):
    def __init__(
        self, hints: Hints, *, observer_factory: Callable[[], BaseObserver] = Observer
    ) -> None:
        self._hints = hints
        self._observer_factory = observer_factory

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = tuple(os.fsdecode(p) for p in (event.src_path, event.dest_path) if p)
        self._hints.note(
            paths,
            rescan=event.event_type in _NAMESPACE_EVENTS,
            closed=event.event_type == "closed",
        )


Identity = tuple[int, int, int, int]  # dev, inode, mtime, ctime of a directory


def _identity(path: str) -> Identity | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns


def _racy(identity: Identity | None) -> bool:
    """Changed so recently that a further change may leave the mtime as it is?"""
    return identity is not None and time.time_ns() - max(identity[2], identity[3]) < _RACY_NS


class DirectoryWatcher:
    """Keeps one non-recursive watch per log directory, or polls it."""

    def __init__(
        self, hints: Hints, *, observer_factory: Callable[[], BaseObserver] = Observer
    ) -> None:
        self._hints = hints
        self._observer_factory = observer_factory
        self._handler = _Handler(hints)
        self._observer: BaseObserver | None = None
        self._watches: dict[str, tuple[ObservedWatch, tuple[int, int]]] = {}
        # each watched directory as ``drifted`` last saw it
        self._checked: dict[str, Identity | None] = {}
        # of those, the ones with a change not reported yet, or reported while racy
        self._unsettled: set[str] = set()
        self._scopes: dict[str, Scope] = {}  # every directory to watch, watched or polled
        self._polled: dict[str, Identity | None] = {}
        self._file_events: frozenset[str] = frozenset()
        self._mounts: Sequence[Mount] = ()
        self._remote: dict[str, str | None] = {}  # directory -> network filesystem type
        self._reported: set[str] = set()

    @property
    def watched(self) -> frozenset[str]:
        return frozenset(self._watches)

    @property
    def polled(self) -> frozenset[str]:
        return frozenset(self._polled)

    @property
    def polling(self) -> bool:
        """Are some directories polled (each tick) rather than watched?"""
        return bool(self._polled)

    @property
    def directories(self) -> Mapping[str, Scope]:
        """Every directory to watch, watched or polled."""
        return self._scopes

    @property
    def file_events(self) -> frozenset[str]:
        """Watched directories whose files' writes are reported (modify/close events).

        The same object until the watches change, so callers can tell by identity.
        """
        return self._file_events

    def start(self, mounts: Sequence[Mount] = ()) -> None:
        """Start the observer; ``mounts`` tell which directories are on network filesystems."""
        self._mounts = mounts
        self._remote.clear()
        try:
            observer = self._observer_factory()
            observer.start()
        except OSError as exc:
            # EMFILE from inotify_init: this user's inotify instances are all taken
            logger.warning("cannot start inotify (%s); polling every log directory instead; "
                           "raise fs.inotify.max_user_instances with sysctl", exc)
            return
        self._observer = observer
        for directory in list(self._polled):
            self._try_watch(directory)
        self._watches_changed()

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join()
        for directory in self._watches:
            self._polled[directory] = _identity(directory)
        self._watches.clear()
        self._checked.clear()
        self._unsettled.clear()
        self._watches_changed()

    def sync(self, dirs: Mapping[str, Scope]) -> None:
        """Watch exactly ``dirs``; re-arm watches whose directory was replaced."""
        for directory in set(self._watches):
            if self._scopes[directory] is not dirs.get(directory):
                self._unwatch(directory)
        for directory in set(self._polled) - set(dirs):
            del self._polled[directory]
        self._scopes = dict(dirs)
        for directory in dirs:
            watch = self._watches.get(directory)
            if watch is None:
                if directory not in self._polled:
                    self._polled[directory] = _identity(directory)
                    self._try_watch(directory)
                continue
            now = _identity(directory)
            if now is None or now[:2] != watch[1]:
                # deleted (and maybe recreated): inotify's watch died with the old inode
                self._unwatch(directory)
                self._polled[directory] = now
                self._try_watch(directory)
        self._watches_changed()

    @property
    def unsettled(self) -> bool:
        """Did a watched directory change too recently to tell further changes apart?
        Then ``drifted(settled_only=True)`` reports it as soon as that passes."""
        return bool(self._unsettled)

    def drifted(self, *, settled_only: bool = False) -> frozenset[str]:
        """Watched directories whose entries changed (or that were replaced) since they
        were last reported: one ``stat`` each. Events report all this; the caller checks
        these directories again in case some were lost (queue overflow).

        A directory reported while its mtime is recent is reported once more later:
        a change within the same mtime tick would look like none. ``settled_only``
        looks at those unsettled directories only, and reports them once their mtime
        is old enough to tell.
        """
        drifted = []
        for directory in list(self._unsettled if settled_only else self._checked):
            now = _identity(directory)
            if now != self._checked[directory]:
                self._unsettled.add(directory)
            if directory in self._unsettled and not (settled_only and _racy(now)):
                drifted.append(directory)
                if not _racy(now):
                    self._unsettled.discard(directory)
            self._checked[directory] = now
        return frozenset(drifted)

    def changed(self) -> bool:
        """Poll the directories we cannot watch; True when one of them changed."""
        changed = False
        for directory, before in self._polled.items():
            now = _identity(directory)
            if now != before:
                self._polled[directory] = now
                changed = True
        if changed and self._observer is not None:
            for directory in list(self._polled):
                self._try_watch(directory)
            self._watches_changed()
        return changed

    def _watches_changed(self) -> None:
        events = frozenset(d for d in self._watches if self._scopes.get(d) is Scope.FILES)
        if events != self._file_events:
            self._file_events = events

    def _try_watch(self, directory: str) -> None:
        if self._observer is None:
            return
        before = _identity(directory)
        if before is None:
            return  # polled until it exists
        if directory not in self._remote:
            self._remote[directory] = network_filesystem(directory, self._mounts)
        if (fstype := self._remote[directory]) is not None:
            if directory not in self._reported:
                self._reported.add(directory)
                logger.info("%s is on %s: writes from other hosts send no events, "
                            "so it is polled every tick", directory, fstype)
            return
        try:
            watch = self._observer.schedule(
                self._handler, directory, recursive=False,
                event_filter=_EVENTS[self._scopes.get(directory, Scope.FILES)],
            )
        except OSError as exc:
            # ENOSPC/EMFILE: inotify watch or instance limit reached
            if directory not in self._reported:
                self._reported.add(directory)
                logger.warning("cannot watch %s (%s); polling it instead", directory, exc)
            return
        self._watches[directory] = (watch, before[:2])
        self._checked[directory] = before
        if _racy(before):
            self._unsettled.add(directory)
        self._polled.pop(directory, None)
        # whatever happened before the watch existed was not reported: the caller
        # looks at the files in it again
        self._hints.note((directory,), rescan=True)

    def _unwatch(self, directory: str) -> None:
        watch, _ = self._watches.pop(directory)
        self._checked.pop(directory, None)
        self._unsettled.discard(directory)
        if self._observer is not None:
            try:
                self._observer.unschedule(watch)
            except KeyError:
                logger.debug("watch on %s was already gone", directory)
