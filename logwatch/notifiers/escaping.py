"""Untrusted log text -> text that is safe to render: escaping and shortening.

Log lines are written by whoever can make the application log, so nothing in
them may become markup, a mention, a link or a terminal control sequence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

ZERO_WIDTH_SPACE = "\u200b"

# C0 and C1 controls (ESC, BEL, CR, ...) except tab and newline: an ANSI
# sequence in a log line could recolour or rewrite an operator's terminal.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Show control characters as ``\\x1b``-style escapes instead of obeying them."""
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def slack_escape(text: str) -> str:
    """Escape the three characters Slack treats as control sequences.

    ``&`` goes first so the entities added for ``<`` and ``>`` stay intact.
    Afterwards ``<!channel>``, ``<@U123>`` and ``<http://x|y>`` are plain text.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def defuse_backticks(text: str) -> str:
    """Follow every backtick with a zero-width space, so no two stay adjacent.

    Log text inside a mrkdwn code block must not close it with its own ```.
    Working character by character, it can serve as ``cut_escaped``'s escape.
    """
    return text.replace("`", "`" + ZERO_WIDTH_SPACE)


def cut_end(text: str, limit: int, marker: str = "…") -> str:
    """Keep the start of ``text`` within ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(marker), 0)] + marker


def cut_escaped(text: str, limit: int, escape: Callable[[str], str], marker: str = "…") -> str:
    """Escape ``text`` and keep it within ``limit`` characters, never halving an entity.

    ``escape`` must work character by character (``html.escape``,
    ``slack_escape``): cutting after escaping could leave ``&am`` behind.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    room = max(limit - len(marker), 0)
    kept: list[str] = []
    for char in text:
        piece = escape(char)
        if len(piece) > room:
            break
        kept.append(piece)
        room -= len(piece)
    return "".join(kept) + marker


def final_exception_line(text: str, exc_type: str | None) -> int:
    """Index of the line of ``text`` that names the raised exception; the last line if none."""
    lines = text.split("\n")
    if exc_type:
        for index in range(len(lines) - 1, -1, -1):
            line = lines[index]
            if line == exc_type or line.startswith(f"{exc_type}:"):
                return index
    return len(lines) - 1


def shorten_traceback(
    text: str,
    exc_type: str | None,
    budget: int,
    *,
    line_chars: int,
    escape: Callable[[str], str] | None = None,
) -> str:
    """Cut ``text`` to ``budget`` characters the way people read tracebacks.

    Each line is first escaped (when ``escape`` is given, see ``cut_escaped``)
    and cut to ``line_chars``; then lines go from the middle, keeping the
    record's header and the final exception line (see ``cut_middle``).
    """
    lines = [
        cut_end(line, line_chars) if escape is None else cut_escaped(line, line_chars, escape)
        for line in text.split("\n")
    ]
    kept = cut_middle(lines, budget, keep_from=final_exception_line(text, exc_type))
    return "\n".join(kept)


def cut_middle(lines: Sequence[str], budget: int, *, keep_from: int) -> list[str]:
    """Drop lines from the middle so that ``"\\n".join(result)`` fits ``budget``.

    ``lines[keep_from]`` (a traceback's final exception line) is always kept,
    and the lines after it as far as they fit. Of the rest of the budget, the
    head (where the log record starts) gets half first, then the lines just
    before ``keep_from`` (the innermost frames), then the head again. A marker
    line says how many lines were cut. Callers shorten each line beforehand
    so that any single line fits.
    """
    if _joined_len(lines) <= budget:
        return list(lines)
    keep_from = min(max(keep_from, 0), len(lines) - 1)
    # every kept line costs its length plus one newline; the marker is sized for
    # the largest count it could show, so the total never exceeds the budget
    room = budget - len(_marker(len(lines)))

    tail_end = keep_from + 1
    room -= len(lines[keep_from]) + 1
    while tail_end < len(lines) and len(lines[tail_end]) + 1 <= room:
        room -= len(lines[tail_end]) + 1
        tail_end += 1

    head_end, room = _take_forward(lines, 0, keep_from, room, share=room // 2)
    before_start, room = _take_backward(lines, head_end, keep_from, room)
    head_end, room = _take_forward(lines, head_end, before_start, room, share=room)

    cut = before_start - head_end + len(lines) - tail_end
    return [
        *lines[:head_end],
        _marker(cut),
        *lines[before_start:keep_from],
        *lines[keep_from:tail_end],
    ]


def _marker(count: int) -> str:
    return f"… {count} lines cut …"


def _joined_len(lines: Sequence[str]) -> int:
    return sum(len(line) for line in lines) + max(len(lines) - 1, 0)


def _take_forward(
    lines: Sequence[str], start: int, stop: int, room: int, *, share: int
) -> tuple[int, int]:
    """Take lines from ``start`` on while they fit ``share``; return (end, room left)."""
    end = start
    while end < stop and len(lines[end]) + 1 <= share:
        share -= len(lines[end]) + 1
        room -= len(lines[end]) + 1
        end += 1
    return end, room


def _take_backward(lines: Sequence[str], stop: int, end: int, room: int) -> tuple[int, int]:
    """Take lines backwards from ``end`` while they fit; return (begin, room left)."""
    begin = end
    while begin > stop and len(lines[begin - 1]) + 1 <= room:
        room -= len(lines[begin - 1]) + 1
        begin -= 1
    return begin, room
