"""Alert -> the parts every chat notifier shows, before its own escaping and layout.

Everything returned here is raw: each channel escapes it for its own markup.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from logwatch.model import Alert, AlertStatus
from logwatch.notifiers.escaping import (
    cut_bytes,
    fullwidth_markup,
    printable,
    shorten_traceback_to,
)

LINE_CHARS = 500  # one traceback line; longer ones keep their start
NO_BREAK_SPACE = "\u00a0"


def label(alert: Alert) -> str:
    """``CRITICAL`` ... ``INFO`` while firing, ``RESOLVED`` once the group went quiet."""
    return "RESOLVED" if alert.status is AlertStatus.RESOLVED else alert.severity.name


def headline(alert: Alert) -> str:
    return f"{label(alert)} · {alert.rule}"


def summary(alert: Alert, escape: Callable[[str], str] = str) -> str:
    """One line for push notifications and previews; ``escape`` treats the alert's words."""
    return f"[{label(alert)}] {escape(alert.title)} ({escape(alert.rule)} on {escape(alert.host)})"


def facts(alert: Alert) -> list[tuple[str, str]]:
    return [
        ("Severity", str(alert.severity)),
        ("Rule", alert.rule),
        ("Host", alert.host),
        ("Source", alert.source),
        ("File", f"{alert.file}:{alert.first_line}-{alert.last_line}"),
        ("Count", str(alert.count)),
    ]


def footer(alert: Alert) -> str:
    parts = ["logwatch", f"first seen {alert.first_seen.isoformat(timespec='seconds')}"]
    parts += [f"{key}={value}" for key, value in sorted(alert.labels.items())]
    return " · ".join(parts)


def resolved_note(alert: Alert) -> str:
    return f"Resolved: no new occurrence since {alert.last_seen.isoformat(timespec='seconds')}."


def shows_traceback(alert: Alert) -> bool:
    """A firing alert shows its event text; a resolved one only says that it resolved."""
    return alert.status is AlertStatus.FIRING and bool(alert.text.strip())


def traceback_text(
    alert: Alert,
    limit: int,
    *,
    size: Callable[[str], int] = len,
    escape: Callable[[str], str] | None = None,
) -> str:
    """The event text within ``limit`` (as ``size`` measures), escaped line by line.

    Lines go from the middle; the record's header and the final exception
    line stay (see ``escaping.shorten_traceback``).
    """
    # a line may fill an eighth of the room at most: even at 4 bytes a
    # character the final exception line and the cut marker always fit
    line_chars = min(LINE_CHARS, max(limit // 8, 1))
    return shorten_traceback_to(
        alert.text, alert.exc_type, limit, size=size, line_chars=line_chars, escape=escape
    )


def encode_json(body: Any) -> bytes:
    """The exact bytes posted: compact UTF-8, so size limits are measured on what is sent."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def json_size(text: str) -> int:
    """Bytes ``text`` adds to ``encode_json``'s output as a string value (quotes aside)."""
    return len(encode_json(text)) - 2


# For Markdown dialects that document no escape (DingTalk, WeCom)


def fullwidth_escape(text: str) -> str:
    """Log text with no live markup, character by character (see ``fullwidth_markup``)."""
    return fullwidth_markup(printable(text))


def fullwidth_inert(text: str, limit_bytes: int) -> str:
    # one character maps to one, so cutting after escaping halves nothing
    return cut_bytes(fullwidth_escape(text), limit_bytes)


def keep_lines(traceback: str, line_break: str = "\n") -> str:
    """Keep each line and its indentation, which Markdown would otherwise fold away."""
    lines = []
    for line in traceback.split("\n"):
        body = line.lstrip(" ")
        lines.append(NO_BREAK_SPACE * (len(line) - len(body)) + body)
    return line_break.join(lines)
