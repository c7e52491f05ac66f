"""An environment file -> variables, read as systemd's ``EnvironmentFile=`` reads it.

So that a command run by hand (``logwatch check --env-file /etc/logwatch/env``)
sees the values the service sees. The grammar is systemd's (systemd.exec(5)):

    NAME=value        leading and trailing blanks dropped, a backslash keeps the
                      next character, a backslash at the end joins the next line
    NAME='value'      verbatim, may span lines
    NAME="value"      a backslash keeps a next " \\ ` or $, may span lines
    # or ; first      a comment line; a line without "=" is passed over too

Unlike ``. /etc/logwatch/env`` in a shell, nothing in the file is run and
nothing is expanded: ``$(...)`` and ``$HOME`` are plain text, and a ``#``
after a value is part of it. Where systemd would quietly read something other
than what was written (``export NAME=...``, a quote never closed, text after a
NUL byte), this is an error, so that ``check`` says so. No message repeats
anything from the file: its values are secrets, and a mistyped line may hold one.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from logwatch.errors import ConfigError, ConfigProblem

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXPORT = re.compile(r"export[ \t]+[A-Za-z_][A-Za-z0-9_]*")  # a shell's habit, not systemd's
_LINE_ENDS = "\n\r"  # systemd ends an assignment at a CR as at an LF
_BLANKS = " \t"
_DOUBLE_QUOTED_ESCAPES = '"\\`$'


def read_env_file(path: Path, *, warn: Callable[[str], None]) -> dict[str, str]:
    """The variables the file at ``path`` assigns; ConfigError where systemd would differ."""
    try:
        with path.open("rb") as file:
            data = file.read()
            mode = os.fstat(file.fileno()).st_mode
    except OSError as exc:
        problem = f"cannot read the environment file: {exc.strerror or exc}"
        raise ConfigError([ConfigProblem(str(path), 1, 1, problem)]) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        valid = data[: exc.start].decode("utf-8")
        line, column = _position(valid, len(valid))
        problem = "not UTF-8, and systemd reads only UTF-8 environment files"
        raise ConfigError([ConfigProblem(str(path), line, column, problem)]) from None
    values = parse_env_file(text, path=str(path))
    if mode & stat.S_IROTH:
        warn(f"warning: {path} is readable by every user (mode {stat.S_IMODE(mode):04o}), and an"
             f" environment file holds secrets: chmod o-r {path}")
    return values


def parse_env_file(text: str, *, path: str = "<string>") -> dict[str, str]:
    """The variables ``text`` assigns, the last assignment of a name winning."""
    problems: list[tuple[int, str]] = []  # (index in text, message)
    if text.startswith("\ufeff"):
        problems.append((0, "a byte order mark, which systemd takes for part of the first name:"
                            " save the file without it"))
        text = text[1:]
    nul = text.find("\0")
    if nul >= 0:
        problems.append((nul, "a NUL byte: systemd reads the file only up to it"))
        text = text[:nul]
    values: dict[str, str] = {}
    at = 0
    while at < len(text):
        char = text[at]
        if char in _BLANKS or char in _LINE_ENDS:
            at += 1
        elif char in "#;":
            at = _line_end(text, at)
        else:
            start = at
            at = _line_end(text, at, also="=")
            if at == len(text) or text[at] != "=":
                continue  # no "=": systemd passes over the line, as over a comment
            name = text[start:at].rstrip(_BLANKS)
            value, at, unclosed = _value(text, at + 1)
            if unclosed is not None:
                problems.append((unclosed, "this quote is never closed"))
            elif _NAME.fullmatch(name):
                values[name] = value
            elif _EXPORT.fullmatch(name):
                problems.append((start, "systemd reads no `export` and would pass over this"
                                        " line: write NAME=value"))
            else:
                problems.append((start, "no variable name before the `=` (letters, digits and _,"
                                        " not a digit first): systemd would pass over this line"))
    if problems:
        raise ConfigError([
            ConfigProblem(path, *_position(text, index), message)
            for index, message in sorted(problems)
        ])
    return values


def _value(text: str, at: int) -> tuple[str, int, int | None]:
    """The value starting at ``at``, where it ends, and where a quote left open starts."""
    out: list[str] = []
    bare = False  # once a character is unquoted, quotes and blanks are text
    keep: int | None = None  # where the trailing blanks of an unquoted value begin
    while at < len(text) and text[at] not in _LINE_ENDS:
        char = text[at]
        if char == "\\":
            if at + 1 < len(text) and text[at + 1] not in _LINE_ENDS:
                out.append(text[at + 1])
            bare, keep = True, None
            at += 2  # past the character kept or the line end joined
        elif not bare and char in _BLANKS:
            at += 1
        elif not bare and char in "'\"":
            closed = _quoted(text, at + 1, char, out)
            if closed is None:
                return "", len(text), at
            at = closed + 1
        else:
            if char not in _BLANKS:
                keep = None
            elif keep is None:
                keep = len(out)
            out.append(char)
            bare = True
            at += 1
    return "".join(out[:keep]), at, None


def _quoted(text: str, at: int, quote: str, out: list[str]) -> int | None:
    """Append the text quoted from ``at`` to ``out``; the index of the closing quote."""
    if quote == "'":
        end = text.find("'", at)
        if end < 0:
            return None
        out.append(text[at:end])
        return end
    while at < len(text):
        char = text[at]
        if char == '"':
            return at
        if char == "\\" and at + 1 < len(text):
            escaped = text[at + 1]
            if escaped in _DOUBLE_QUOTED_ESCAPES:
                out.append(escaped)
            elif escaped != "\n":  # a backslash before a line end joins the lines
                out.append(char + escaped)  # the shell keeps \n, \t and the like as written
            at += 2
        else:
            out.append(char)
            at += 1
    return None


def _line_end(text: str, at: int, *, also: str = "") -> int:
    """The index of the first line end (or one of ``also``) from ``at``, else len(text)."""
    while at < len(text) and text[at] not in _LINE_ENDS and text[at] not in also:
        at += 1
    return at


def _position(text: str, at: int) -> tuple[int, int]:
    """1-based line and column of index ``at`` of ``text``."""
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1
