"""Traceback text -> the exception chain it shows (types, messages, frames, groups).

This reads the lines of one finished event (the boundaries are the
assembler's business) with CPython's grammar, 3.8 to 3.13:

    chain     := block (blank* separator blank* block)*
    block     := ("Traceback (most recent call last):" frames)? exception
               | frames exception                      # SyntaxError, no header
               | group                                 # '  + Exception Group ...' box
    frames    := (frame-line source* caret* | "[Previous line repeated N more times]")*
    exception := "Type" | "Type: message" continuation*    # notes are continuation too

Exception-group boxes are parsed by gutter depth: each ``  | `` level is the
same grammar again, with ``+---- N ----`` lines separating the members.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from logwatch.model import ExceptionInfo, Frame
from logwatch.multiline.kinds import (
    EXCEPTION_LINE,
    FRAME_LINE,
    GROUP_TRACEBACK_LINE,
    TRACEBACK_LINE,
    Kind,
    is_closing_box,
    structure_kind,
)

ELISION_PREFIX = "... logwatch: "  # the marker line put where a long event was cut

_LOGURU_ANNOTATION = ("│", "└")
_TB_HEADERS = (TRACEBACK_LINE, GROUP_TRACEBACK_LINE)


def parse_traceback(lines: Sequence[str]) -> tuple[ExceptionInfo, ...]:
    """The exception chain shown by these (clean) lines, in printed order."""
    return tuple(_Parser(lines).chain())


def parse_frames(lines: Sequence[str]) -> tuple[Frame, ...]:
    """Frames of a stack without exception: print_stack(), stack_info, faulthandler.

    For a faulthandler dump with several threads, the current thread's frames.
    """
    blocks: list[list[str]] = [[]]
    current = 0
    for line in lines:
        if line.startswith(("Current thread 0x", "Thread 0x", "Stack (most recent call")):
            blocks.append([])
            if line.startswith(("Current thread", "Stack (most recent call first)")):
                current = len(blocks) - 1
        else:
            blocks[-1].append(line)
    chosen = blocks[current] if blocks[current] else [line for block in blocks for line in block]
    parser = _Parser(chosen)
    frames: list[Frame] = []
    while parser.index < len(chosen):
        found = parser.frames()
        if not found:
            parser.index += 1
        frames.extend(found)
    return tuple(frames)


class _Parser:
    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.index = 0

    def chain(self) -> list[ExceptionInfo]:
        chain: list[ExceptionInfo] = []
        expect_exception = True  # at the start and after a separator a bare "Type: msg" counts
        lines = self.lines
        while self.index < len(lines):
            text = lines[self.index]
            kind = structure_kind(text)
            if text.startswith(_TB_HEADERS):
                self.index += 1
                self._append(chain, self.exception(self.frames()))
                expect_exception = False
            elif kind is Kind.GROUP_START or kind is Kind.GUTTER:
                chain.extend(_group(self._gutter_region(), depth=1))
                expect_exception = False
            elif kind is Kind.FRAME:
                frames = self.frames()
                if self.index < len(lines) and _exception_match(lines[self.index]):
                    self._append(chain, self.exception(frames))
                expect_exception = False
            elif kind is Kind.SEPARATOR:
                self.index += 1
                expect_exception = True
            elif kind in (Kind.STACK, Kind.CALL_STACK):
                break  # logging's own stack dump closes the record
            elif expect_exception and kind in (Kind.EXCEPTION, Kind.TEXT):
                self._append(chain, self.exception(()))
                expect_exception = False
            else:
                self.index += 1
        return chain

    @staticmethod
    def _append(chain: list[ExceptionInfo], exc: ExceptionInfo | None) -> None:
        if exc is not None:
            chain.append(exc)

    def frames(self) -> list[Frame]:
        frames: list[Frame] = []
        source: list[str] = []
        lines = self.lines

        def close() -> None:
            if frames and source:
                frames[-1] = replace(frames[-1], source=_dedent(source))
            source.clear()

        while self.index < len(lines):
            text = lines[self.index]
            kind = structure_kind(text)
            if kind is Kind.FRAME:
                close()
                match = FRAME_LINE.search(text)
                if match is not None:
                    func = match.group("func")
                    frames.append(Frame(match.group("file"), int(match.group("line")), func))
            elif kind is Kind.SOURCE or (kind is Kind.BLANK and text.startswith("    ")):
                if text.strip() and not text.lstrip().startswith(_LOGURU_ANNOTATION):
                    source.append(text)
            elif kind is Kind.BLANK:
                if not _frames_continue(lines, self.index):
                    break
            elif kind not in (Kind.CARET, Kind.REPEAT) and not text.startswith(ELISION_PREFIX):
                break
            self.index += 1
        close()
        return frames

    def exception(self, frames: Sequence[Frame]) -> ExceptionInfo | None:
        lines = self.lines
        if self.index >= len(lines):
            return None
        match = _exception_match(lines[self.index])
        if match is None:
            return None
        self.index += 1
        message = [match.group(2) or ""]
        quoted = message[0].strip() == '"""'
        while self.index < len(lines):
            text = lines[self.index]
            stripped = text.strip()
            if quoted:
                quoted = stripped != '"""'
            elif not stripped:
                if _separator_follows(lines, self.index):
                    break
            elif text.startswith(SEPARATOR_STARTS) or text.startswith(_STACK_STARTS):
                break
            elif stripped == '"""':
                quoted = True  # a remote traceback quoted inside the message
            message.append(text)
            self.index += 1
        while len(message) > 1 and not message[-1].strip():
            message.pop()
        # the message as printed, "Did you mean" hint included (fingerprints drop it)
        return ExceptionInfo(type=match.group(1), message="\n".join(message), frames=tuple(frames))

    def _gutter_region(self) -> list[str]:
        start = self.index
        lines = self.lines
        while self.index < len(lines) and structure_kind(lines[self.index]) in (
            Kind.GUTTER,
            Kind.GROUP_START,
        ):
            self.index += 1
        return list(lines[start : self.index])


SEPARATOR_STARTS = ("During handling of the above exception", "The above exception was the direct")
_STACK_STARTS = ("Stack (most recent call last):", "Call stack:")


def _exception_match(text: str) -> re.Match[str] | None:
    if text[:1] in (" ", "\t", ""):
        return None
    return EXCEPTION_LINE.fullmatch(text)


def _separator_follows(lines: Sequence[str], index: int) -> bool:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index < len(lines) and lines[index].startswith(SEPARATOR_STARTS)


def _frames_continue(lines: Sequence[str], index: int) -> bool:
    """Blank lines between frames (loguru) versus the blank before a separator."""
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index >= len(lines):
        return False
    following = lines[index]
    return structure_kind(following) is Kind.FRAME or (
        following[:1] not in (" ", "\t") and not following.startswith(SEPARATOR_STARTS)
    )


def _dedent(source: list[str]) -> str:
    indent = min(len(line) - len(line.lstrip()) for line in source)
    return "\n".join(line[indent:].rstrip() for line in source)


def _group(lines: list[str], depth: int) -> list[ExceptionInfo]:
    """One exception group box at ``depth``: its own chain, then its members."""
    indent = " " * (2 * depth)
    own_prefixes = (indent + "|", indent + "+ ")
    first_marker = indent + "+-+"
    next_marker = indent + "  +-"
    own: list[str] = []
    members: list[list[str]] = []
    current: list[str] | None = None
    for line in lines:
        if line.startswith(own_prefixes) and current is None:
            own.append(line[len(indent) + 2 :])
        elif line.startswith(first_marker) or (
            line.startswith(next_marker) and not line.startswith(indent + "  +-+")
        ):
            if is_closing_box(line):
                current = None
            else:
                current = []
                members.append(current)
        elif current is not None:
            current.append(line)
        else:
            own.append(line.strip())
    chain = _Parser(own).chain()
    found = [sub[-1] for sub in (_group(member, depth + 1) for member in members) if sub]
    if chain:
        chain[-1] = replace(chain[-1], group_members=tuple(found))
    return chain
