"""Line kinds: the lexer the traceback grammar runs on.

Each clean line (envelope and ANSI colour codes already stripped) gets one
kind, decided by cheap prefix checks before any regex, because this runs once
for every line of every file. Kinds say what a line *could* be; which reading
wins depends on where the grammar is (a ``ValueError: x`` line is an exception
after frames and message text after another exception line).
"""

from __future__ import annotations

import enum
import re

from logwatch.multiline.headers import Header, HeaderParser


class Kind(enum.Enum):
    BLANK = "blank"  # empty or whitespace only
    FRAME = "frame"  # '  File "x", line N, in f' (faulthandler: no comma; loguru: '> File')
    SOURCE = "source"  # any other indented line: source, notes, message continuation
    CARET = "caret"  # '    ~~~^^^' under a source line (3.11+) or a SyntaxError caret
    REPEAT = "repeat"  # '  [Previous line repeated 996 more times]'
    GUTTER = "gutter"  # '  | ...' or a '  +-+----' box line of an exception group
    GROUP_START = "group_start"  # '  + Exception Group Traceback ...' or '  | Type: msg'
    TRACEBACK = "traceback"  # 'Traceback (most recent call last):'
    SEPARATOR = "separator"  # 'During handling of ...' / 'The above exception was ...'
    STACK = "stack"  # 'Stack (most recent call last):' from logging's stack_info
    CALL_STACK = "call_stack"  # 'Call stack:' inside a '--- Logging error ---' block
    LOGGING_ERROR = "logging_error"  # '--- Logging error ---'
    CONTEXT = "context"  # CPython's own headers: 'Exception in thread X:', ...
    FAULT = "fault"  # 'Fatal Python error: ...', 'Timeout (0:00:05)!'
    FAULT_THREAD = "fault_thread"  # 'Current thread 0x...', 'Stack (most recent call first):'
    FAULT_EXTRA = "fault_extra"  # 'Extension modules: ...', 'Python runtime state: ...'
    EXCEPTION = "exception"  # 'pkg.SomeError: msg' with a type that looks like an exception
    HEADER = "header"  # a log record header (timestamp, level, ...)
    JSON = "json"  # a JSON object on one line
    TEXT = "text"  # anything else at column 0


TRACEBACK_LINE = "Traceback (most recent call last):"
GROUP_TRACEBACK_LINE = "Exception Group Traceback (most recent call last):"
SEPARATORS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)

# "Type" or "Type: message"; qualified names may hold "<locals>".
EXCEPTION_LINE = re.compile(r"([A-Za-z_][\w<>]*(?:\.[A-Za-z_<][\w<>]*)*)(?:: (.*)|:)?", re.DOTALL)
FRAME_LINE = re.compile(r'File "(?P<file>.*)", line (?P<line>\d+)(?:,? in (?P<func>.*))?')
_EXCEPTION_SUFFIXES = (
    "Error",
    "Exception",
    "Interrupt",
    "Exit",
    "Failure",
    "Fault",
    "Timeout",
    "Iteration",
    "Group",
    "Warning",
)
CONTEXT_PREFIXES = (
    "Exception in thread ",
    "Exception ignored ",
    "Exception in callback ",
    "Task exception was never retrieved",
    "Future exception was never retrieved",
    "Error in atexit._run_exitfuncs:",
    "Error in sys.excepthook:",
    "Original exception was:",
    "Unhandled exception in thread started by ",
)
# Every line ``_structural`` finds a kind for starts with one of these (where a
# source's own header pattern matches one, ``headerlines`` asks the assembler).
STRUCTURE_PREFIXES = (
    TRACEBACK_LINE,
    "The above exception was the direct cause",
    "Thread 0x",
    "Timeout (",
    SEPARATORS[0],
    "Stack (most recent call",
    "Call stack:",
    "Current thread 0x",
    "--- Logging error ---",
    "Fatal Python error: ",
    "Windows fatal exception: ",
    "Python runtime state: ",
    "Process ",
    '> File "',
    "{",
    "Extension modules: ",
    *CONTEXT_PREFIXES,
)
_PROCESS = re.compile(r"Process [A-Z][\w]*-\d+:\s*$")
_TIMEOUT = re.compile(r"Timeout \(\d+:\d\d:\d\d(?:\.\d+)?\)!")
_CARET_CHARS = frozenset("^~ ")


def is_exception_line(text: str, *, strict: bool) -> bool:
    """Whether ``text`` reads as a final exception line.

    Loose: any ``Type`` or ``Type: msg`` (where the grammar expects one).
    Strict: the type also looks like an exception by name, so a line can be
    taken for one with no traceback around it.
    """
    match = EXCEPTION_LINE.fullmatch(text)
    if match is None:
        return False
    if not strict:
        return True
    name = match.group(1)
    last = name.rsplit(".", 1)[-1]
    if last.endswith(_EXCEPTION_SUFFIXES) and last[:1].isupper():
        return True
    # qualified CapWords types, e.g. concurrent.futures.process._RemoteTraceback
    return "." in name and last.lstrip("_")[:1].isupper()


def is_closing_box(text: str) -> bool:
    """'    +------------------------------------': an exception group's last box line."""
    stripped = text.strip()
    return len(stripped) > 4 and stripped[0] == "+" and stripped.count("-") == len(stripped) - 1


def classify(
    text: str, headers: HeaderParser | None, *, json_records: bool = True
) -> tuple[Kind, Header | None]:
    """The kind of a clean line, and its parsed header when it is a record header."""
    if not text or text.isspace():
        return Kind.BLANK, None
    first = text[0]
    if first == " " or first == "\t":
        return _indented(text), None
    kind = _structural(text, first, json_records)
    if kind is not None:
        return kind, None
    if headers is not None:
        header = headers.parse(text)
        if header is not None:
            return Kind.HEADER, header
    if is_exception_line(text, strict=True):
        return Kind.EXCEPTION, None
    return Kind.TEXT, None


def structure_kind(text: str) -> Kind:
    """The kind of a line inside a known traceback, where record headers do not matter."""
    kind, _ = classify(text, None, json_records=False)
    return kind


def _indented(text: str) -> Kind:
    stripped = text.lstrip()
    lead = stripped[0]
    if lead == "F" and stripped.startswith('File "') and '", line ' in stripped:
        return Kind.FRAME
    if lead == "|" or lead == "+":
        after = stripped[1:2]
        if after in ("", " ", "-"):
            indent = len(text) - len(stripped)
            if lead == "+" and stripped.startswith("+ Exception Group Traceback"):
                return Kind.GROUP_START
            if indent == 2 and lead == "|" and is_exception_line(stripped[2:], strict=True):
                return Kind.GROUP_START  # a group printed without a traceback of its own
            return Kind.GUTTER
    if (lead == "^" or lead == "~") and _CARET_CHARS.issuperset(stripped.rstrip()):
        return Kind.CARET
    if lead == "[" and stripped.startswith("[Previous line repeated"):
        return Kind.REPEAT
    return Kind.SOURCE


def _structural(text: str, first: str, json_records: bool) -> Kind | None:
    if first == "T":
        if text.startswith(TRACEBACK_LINE):
            return Kind.TRACEBACK
        if text.startswith("The above exception was the direct cause"):
            return Kind.SEPARATOR
        if text.startswith("Thread 0x") and "(most recent call first)" in text:
            return Kind.FAULT_THREAD
        if text.startswith("Task exception was never retrieved"):
            return Kind.CONTEXT
        if text.startswith("Timeout (") and _TIMEOUT.match(text):
            return Kind.FAULT
    elif first == "D":
        if text.startswith(SEPARATORS[0]):
            return Kind.SEPARATOR
    elif first == "S":
        if text.startswith("Stack (most recent call last):"):
            return Kind.STACK
        if text.startswith("Stack (most recent call first):"):
            return Kind.FAULT_THREAD
    elif first == "C":
        if text.startswith("Call stack:"):
            return Kind.CALL_STACK
        if text.startswith("Current thread 0x"):
            return Kind.FAULT_THREAD
    elif first == "-":
        if text.startswith("--- Logging error ---"):
            return Kind.LOGGING_ERROR
    elif first == "F":
        if text.startswith("Fatal Python error: "):
            return Kind.FAULT
        if text.startswith("Future exception was never retrieved"):
            return Kind.CONTEXT
    elif first == "W":
        if text.startswith("Windows fatal exception: "):
            return Kind.FAULT
    elif first == "P":
        if text.startswith("Python runtime state: "):
            return Kind.FAULT_EXTRA
        if text.startswith("Process ") and _PROCESS.match(text):
            return Kind.CONTEXT
    elif first == ">":
        if text.startswith('> File "'):
            return Kind.FRAME  # loguru marks the failing frame with '>'
    elif first == "{" and json_records and text.rstrip().endswith("}"):
        return Kind.JSON
    if first in "EOU":
        if text.startswith("Extension modules: "):
            return Kind.FAULT_EXTRA
        if text.startswith(CONTEXT_PREFIXES):
            return Kind.CONTEXT
    return None
