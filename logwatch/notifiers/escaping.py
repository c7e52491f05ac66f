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


# Characters that start CommonMark syntax: emphasis, code, links and images,
# headings, lists, quotes, strikethrough, tables and spoilers, autolinks and
# Discord's <@mentions>. Escaping "." and "+" would only guard ordered lists.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]()#\-|>~<])")
# ASCII -> fullwidth form (U+FF01..U+FF5E sit 0xFEE0 above their ASCII twins)
_FULLWIDTH_MARKUP = str.maketrans({char: chr(ord(char) + 0xFEE0) for char in "<>[]*_`#~|@"})


def markdown_escape(text: str) -> str:
    """Backslash-escape every character that could start Markdown syntax.

    For renderers that follow CommonMark's backslash escapes (Teams, Discord).
    Works character by character, so it can serve as ``cut_escaped``'s escape.
    """
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def fullwidth_markup(text: str) -> str:
    """Swap the ASCII characters that start markup or mentions for their fullwidth forms.

    For Markdown dialects that document no escape (DingTalk, WeCom): there a
    backslash could show up while the markup after it stays live, whereas the
    fullwidth ``<font>``, ``[x](y)``, ``**`` and ``@all`` (U+FF1C, U+FF3B, ...)
    are never markup. Readers of those apps see fullwidth punctuation every
    day. Works character by character.
    """
    return text.translate(_FULLWIDTH_MARKUP)


def break_tags(text: str) -> str:
    """Follow every ``<`` with a zero-width space, so no tag (``<at id=all>``) can form."""
    return text.replace("<", "<" + ZERO_WIDTH_SPACE)


def break_mentions(text: str) -> str:
    """Follow every ``@`` with a zero-width space, so ``@everyone`` is no mention to any app."""
    return text.replace("@", "@" + ZERO_WIDTH_SPACE)


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_bytes(text: str, limit: int, marker: str = "…") -> str:
    """Keep the start of ``text`` within ``limit`` UTF-8 bytes, never halving a character."""
    if utf8_len(text) <= limit:
        return text
    room = max(limit - utf8_len(marker), 0)
    return text.encode("utf-8")[:room].decode("utf-8", "ignore") + marker


def shorten_traceback_to(
    text: str,
    exc_type: str | None,
    limit: int,
    *,
    size: Callable[[str], int],
    line_chars: int,
    escape: Callable[[str], str] | None = None,
) -> str:
    """``shorten_traceback`` for a limit in another unit: UTF-8 bytes, bytes of JSON.

    ``size`` measures the result in that unit and must never be below the
    character count (true of both). The character budget shrinks by the excess
    until the result fits; ``line_chars`` must leave room for the final line.
    """
    budget = limit
    while True:
        short = shorten_traceback(text, exc_type, budget, line_chars=line_chars, escape=escape)
        excess = size(short) - limit
        if excess <= 0 or budget <= 1:
            return short
        budget = max(budget - excess, 1)
