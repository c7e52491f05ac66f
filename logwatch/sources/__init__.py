"""Bytes on disk -> Line: follow log files across rotation, truncation and restarts.

    Tailer.poll()  reconcile (stat what events do not cover; glob a changed directory)
        -> FileReader.read()  pread from our own offset
        -> LineFramer.feed()  complete lines with exact offsets and line numbers
        -> Chunk(origin, lines, at_eof)

watcher.py (the only module that imports watchdog) turns filesystem events
into wake-ups; identity.py says which known file a path holds; rotation.py
finds where a rotated file went; host.py reads, once, which directories are on
network filesystems and what the inotify and open-file limits allow.
"""

from typing import TYPE_CHECKING

from logwatch.lazy import lazy_names

if TYPE_CHECKING:
    from logwatch.sources.tailer import Tailer
    from logwatch.sources.values import Chunk, FileStat, Source, SourceSpec, TailCounters

__all__ = ["Chunk", "FileStat", "Source", "SourceSpec", "TailCounters", "Tailer"]

# Imported on first use: replay needs only framing and coldlines, not the tailer,
# nor watchdog under it, nor the tailer's values (~3 ms: dataclasses and a Protocol).
_LAZY = {
    "Tailer": "logwatch.sources.tailer",
    **dict.fromkeys(("Chunk", "FileStat", "Source", "SourceSpec", "TailCounters"),
                    "logwatch.sources.values"),
}

__getattr__, __dir__ = lazy_names(globals(), _LAZY)
