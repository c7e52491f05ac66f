"""Per-line envelopes -> the application's own line, before any grammar runs.

Container runtimes and log daemons wrap every physical line: Docker's
json-file driver in a JSON object, CRI runtimes (containerd, CRI-O) in
``<time> <stream> <P|F> ``, syslog in ``<time> <host> <tag>[pid]: ``, Apache's
error log (mod_wsgi) in ``[time] [module:level] [pid N] ``. Tracebacks can
only be recognised once that wrapping is gone, and the stream or pid it names
keeps two writers of one file apart. Long lines come split by the runtime
(16 KiB records); ``partial`` says the next record continues this one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from logwatch.multiline import jsontext
from logwatch.multiline.timestamps import UTC_TIMES, TimeReader

_CRI = re.compile(r"(\d{4}-\d\d-\d\dT\S+) (stdout|stderr) ([FP]) ?")
_SYSLOG = re.compile(
    r"(?:<\d{1,3}>)?([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\s\[\]:]+)(?:\[(\d+)\])?: "
)
# An ISO-timestamped syslog line needs the "[pid]", or an ordinary application
# header like "2026-01-01T12:00:00Z INFO app.db: msg" would read as one.
_SYSLOG_ISO = re.compile(r"(\d{4}-\d\d-\d\dT\S+) (\S+) ([^\s\[\]:]+)\[(\d+)\]: ")
_APACHE = re.compile(r"\[([^\]]+)\] \[[\w:]+\] \[pid (\d+)(?::tid \d+)?\](?: \[client [^\]]+\])? ?")
_REFERER = re.compile(r", referer: \S*$")
MONTHS = frozenset(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
)


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """The application's line out of one envelope record."""

    text: str
    stream: str  # which writer: "stderr", "app[4242]", "pid 8"; "" when unsaid
    partial: bool  # the runtime split a long line: the next record continues it
    timestamp: datetime | None
    envelope: str  # "docker", "cri", "syslog", "apache"


def unwrap(text: str, times: TimeReader = UTC_TIMES) -> Unwrapped | None:
    """Strip the envelope this line has, or return None when it has none.

    ``times`` reads the envelope's time (an Apache error log's has no zone).
    """
    first = text[:1]
    if first == "{":
        if text.startswith('{"log":'):
            try:
                doc = jsontext.loads(text)
            except (ValueError, RecursionError):  # RecursionError: nested past the recursion limit
                return None
            return docker_record(doc, times) if isinstance(doc, dict) else None
        return None
    if first.isdigit():
        if text[10:11] == "T":
            return _cri(text, times) or _syslog(_SYSLOG_ISO, text, times)
        return None
    if first == "<" or text[:3] in MONTHS:
        return _syslog(_SYSLOG, text, times)
    if first == "[" and "] [pid " in text[:80]:
        return _apache(text, times)
    return None


def docker_record(doc: Mapping[str, Any], times: TimeReader = UTC_TIMES) -> Unwrapped | None:
    """A Docker json-file record, told from an application's JSON by its keys."""
    log = doc.get("log")
    if not isinstance(log, str) or "stream" not in doc or "time" not in doc:
        return None
    stamp = doc.get("time")
    partial = not log.endswith("\n")
    return Unwrapped(
        text=log.removesuffix("\n").removesuffix("\r"),
        stream=str(doc.get("stream") or ""),
        partial=partial,
        timestamp=times.parse(stamp) if isinstance(stamp, str) else None,
        envelope="docker",
    )


def _cri(text: str, times: TimeReader) -> Unwrapped | None:
    match = _CRI.match(text)
    if match is None:
        return None
    stamp, stream, tag = match.groups()
    return Unwrapped(
        text=text[match.end() :],
        stream=stream,
        partial=tag == "P",
        timestamp=times.parse(stamp),
        envelope="cri",
    )


def _syslog(pattern: re.Pattern[str], text: str, times: TimeReader) -> Unwrapped | None:
    match = pattern.match(text)
    if match is None:
        return None
    stamp, _host, tag, pid = match.groups()
    found = times.leading(stamp)
    return Unwrapped(
        text=text[match.end() :],
        stream=f"{tag}[{pid}]" if pid else tag,
        partial=False,
        timestamp=found[0] if found else None,  # BSD syslog has no year: no time
        envelope="syslog",
    )


def _apache(text: str, times: TimeReader) -> Unwrapped | None:
    match = _APACHE.match(text)
    if match is None:
        return None
    stamp, pid = match.groups()
    found = times.leading(stamp)
    return Unwrapped(
        text=_REFERER.sub("", text[match.end() :]),
        stream=f"pid {pid}",
        partial=False,
        timestamp=found[0] if found else None,
        envelope="apache",
    )
