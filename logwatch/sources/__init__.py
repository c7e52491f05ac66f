"""Bytes on disk -> Line: follow log files across rotation, truncation and restarts.

    Tailer.poll()  reconcile (fstat open files; globs on a hint or every scan)
        -> FileReader.read()  pread from our own offset
        -> LineFramer.feed()  complete lines with exact offsets and line numbers
        -> Chunk(origin, lines, at_eof)

watcher.py (the only module that imports watchdog) turns filesystem events
into wake-ups; identity.py says which known file a path holds; rotation.py
finds where a rotated file went; host.py reads, once, which directories are on
network filesystems and what the inotify and open-file limits allow.
"""

from logwatch.sources.tailer import Tailer
from logwatch.sources.values import Chunk, FileStat, Source, SourceSpec, TailCounters

__all__ = ["Chunk", "FileStat", "Source", "SourceSpec", "TailCounters", "Tailer"]
