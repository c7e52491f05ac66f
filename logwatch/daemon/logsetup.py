"""The daemon's own log: stderr, with syslog priority prefixes when journald reads it.

Apart from the command line so that only `logwatch run` imports ``logging``
(~2 ms of start-up with what it imports): `check` and `replay` log nothing.
"""

from __future__ import annotations

import logging
import os
import sys

# journald reads a "<N>" prefix on each stderr line as the syslog priority
_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        priority = _PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def _stderr_is_journal() -> bool:
    """systemd.exec(5): JOURNAL_STREAM is the journal's DEV:INODE; compare it with our
    stderr, since a child of the service may have been redirected elsewhere."""
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    try:
        stat = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):  # stderr closed or replaced by an object without a fd
        return False
    return f"{stat.st_dev}:{stat.st_ino}" == f"{device}:{inode}"


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if _stderr_is_journal():
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
