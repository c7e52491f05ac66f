"""Events -> grouping fingerprints: the same bug gets the same key, like Sentry.

An exception is keyed by its chain's types plus its in-app frames: module
(the path below the last site-packages, or the file's stem and its parent
directory, so a different checkout, venv or container prefix does not
matter), function and whitespace-normalised first source line. Line numbers
are left out, so a deploy that shifts code does not open a new group;
recursion is collapsed, so the depth a RecursionError reached does not matter
either, and so is what one CPython prints and another does not: the
``__main__.`` before a type (3.8-3.10's excepthook), the frame of a list,
dict or set comprehension (inlined from 3.12 on) and the directory of the
script the process was started with (3.8 prints ``python main.py`` as typed,
3.9+ absolute; see ``_scripts``). Without in-app frames all
frames count; without any frames the message does, with numbers, hex ids,
UUIDs and quoted values blanked out.

Events without an exception are keyed by level, logger and normalised
message, so repeated identical error lines group too.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Collection, Iterable, Sequence

from logwatch.model import ExceptionInfo, Frame

VERSION = "fp1"  # part of the hashed text: changing the recipe changes every key
_MAX_CYCLE = 8  # longest mutual-recursion cycle collapsed

_STDLIB = re.compile(r"[/\\](?:lib(?:64)?[/\\]python\d(?:\.\d+)?|Lib)[/\\]")
_PACKAGES = re.compile(r"[/\\](?:site|dist)-packages[/\\]")
# Frames 3.12 no longer has (PEP 709 inlines these comprehensions into their caller).
_INLINED = frozenset(("<listcomp>", "<dictcomp>", "<setcomp>"))
_MAIN_PREFIX = "__main__."
_HINT = re.compile(r"\. Did you (?:mean: '[^']*'|forget to import '[^']*')\?")
# One pass over a message; earlier alternatives win (a UUID is not five numbers).
# The lookahead (every alternative's possible first characters) lets a position
# that cannot start a match fail at once instead of trying four branches.
_VARYING = re.compile(
    r"(?=[\da-fA-F'\"])"
    r"(?:(?P<uuid>\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b)"
    r"|(?P<str>'[^'\n]*'|\"[^\"\n]*\")"
    r"|(?P<hex>\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b)"
    r"|(?P<n>\d+(?:\.\d+)?))"
)
_PLACEHOLDERS = {"uuid": "<uuid>", "str": "<str>", "hex": "<hex>", "n": "<n>"}
_SPACE = re.compile(r"\s+")
_MAY_VARY = re.compile(r"[\d'\"]")  # nothing to blank without a digit or a quote
_MAY_SPACE = re.compile(r"\s\s|[\t\n\r\f\v]")


def fingerprint(chain: Sequence[ExceptionInfo]) -> str:
    """The grouping key of an exception chain (printed order, the raised one last)."""
    types = [kind for exc in chain for kind in _types(exc)]
    blocks = [exc.frames for exc in chain]
    keys = frame_keys([frame for frames in blocks for frame in frames], _scripts(blocks))
    if keys:
        return _digest("exception", *types, *keys)
    message = chain[-1].message.split("\n", 1)[0] if chain else ""
    return _digest("exception", *types, "message", normalise_message(message))


@functools.lru_cache(maxsize=4096)  # the same record line repeats; hashing it again is waste
def fingerprint_record(level: str | None, logger: str | None, message: str) -> str:
    """The grouping key of an event without exception."""
    first = message.split("\n", 1)[0]
    return _digest("record", level or "", logger or "", normalise_message(first))


def fingerprint_frames(label: str, frames: Sequence[Frame]) -> str:
    """The grouping key of a bare stack (print_stack, a faulthandler dump)."""
    return _digest("stack", normalise_message(label), *frame_keys(frames))


def frame_keys(frames: Sequence[Frame], scripts: Collection[str] = ()) -> list[str]:
    """In-app frames (else all of them) as line-number-free keys, recursion collapsed.

    Frames of the files in ``scripts`` are keyed by the file's name alone.
    """
    chosen = [frame for frame in frames if is_in_app(frame.filename)] or list(frames)
    keys: list[str] = []
    for frame in chosen:
        if frame.function in _INLINED:
            continue  # its caller's frame shows the same source line
        keys.append(_frame_key(frame, frame.filename in scripts))
        _collapse_cycle(keys)
    return keys


@functools.lru_cache(maxsize=4096)  # an app has a few hundred files; every traceback asks again
def is_in_app(filename: str) -> bool:
    """Not the standard library, not an installed package, not frozen bootstrap code."""
    if filename.startswith("<frozen"):
        return False
    return _PACKAGES.search(filename) is None and _STDLIB.search(filename) is None


def module_of(filename: str) -> str:
    """A path reduced to what survives another checkout, venv or container."""
    path = filename.replace("\\", "/")
    if path.startswith("<"):
        return path
    packages = _PACKAGES.search(filename)
    if packages is not None:
        return _strip_suffix(path[packages.end() :])
    parts = _parts(path)
    if not parts:
        return path
    stem = _strip_suffix(parts[-1])
    return f"{parts[-2]}/{stem}" if len(parts) > 1 else stem


def normalise_message(message: str) -> str:
    """Blank out what varies between occurrences of the same problem."""
    text = _HINT.sub("", message) if "Did you" in message else message
    if _MAY_VARY.search(text):
        text = _VARYING.sub(_placeholder, text)
    return _SPACE.sub(" ", text).strip() if _MAY_SPACE.search(text) else text.strip()


def _placeholder(match: re.Match[str]) -> str:
    return _PLACEHOLDERS[match.lastgroup or "n"]


def _types(exc: ExceptionInfo) -> Iterable[str]:
    # 3.8-3.10's excepthook prints "__main__.Error" where logging prints "Error"
    yield exc.type.removeprefix(_MAIN_PREFIX)
    if exc.group_members:
        # members of a group can finish in any order: their set, not their sequence
        yield "[" + ",".join(sorted({kind for m in exc.group_members for kind in _types(m)})) + "]"


def _scripts(blocks: Sequence[Sequence[Frame]]) -> frozenset[str]:
    """The files among ``blocks`` (one traceback each) that look like a started script.

    3.8 prints a script as it was typed (``python main.py``: ``main.py``), 3.9+
    absolute (``/srv/app/main.py``), and a script's directory only names the
    checkout anyway. A script is where a traceback starts, after the
    interpreter's own frames (threading, runpy): at its top level, or calling
    into a package in its own directory. Other files keep their directory, so
    the same code in shop/orders.py and billing/orders.py stays two bugs.
    """
    found: set[str] = set()
    for frames in blocks:
        start = next((frame for frame in frames if not _is_interpreters(frame.filename)), None)
        if start is None or start.filename in found or not is_in_app(start.filename):
            continue
        if start.function == "<module>" or _calls_package_beside(start.filename, blocks):
            found.add(start.filename)
    return frozenset(found)


def _calls_package_beside(script: str, blocks: Sequence[Sequence[Frame]]) -> bool:
    """Whether another in-app frame is in a package inside the script's directory."""
    parts = _parts(script)
    if len(parts) < 2:
        return False  # "main.py": no directory to leave out
    inside = f"/{parts[-2]}/"  # its name, not its path: 3.8 may print a relative one
    for frames in blocks:
        for frame in frames:
            path = "/" + frame.filename.replace("\\", "/")
            at = path.find(inside)
            if (
                at >= 0
                and path.find("/", at + len(inside)) >= 0  # below a subdirectory of it
                and frame.filename != script
                and is_in_app(frame.filename)
            ):
                return True
    return False


@functools.lru_cache(maxsize=4096)
def _is_interpreters(filename: str) -> bool:
    return filename.startswith("<frozen") or _STDLIB.search(filename) is not None


def _frame_key(frame: Frame, script: bool = False) -> str:
    # only the first source line: 3.13 prints every line of a multi-line call
    source = (frame.source or "").split("\n", 1)[0]
    module = module_of(frame.filename)
    if script:
        module = module.rsplit("/", 1)[-1]
    return f"{module}|{frame.function or ''}|{_SPACE.sub(' ', source).strip()}"


def _collapse_cycle(keys: list[str]) -> None:
    """Drop the newest keys while they repeat the cycle right before them."""
    for length in range(1, min(_MAX_CYCLE, len(keys) // 2) + 1):
        if keys[-length:] == keys[-2 * length : -length]:
            del keys[-length:]
            return


def _parts(path: str) -> list[str]:
    return [part for part in path.replace("\\", "/").split("/") if part not in ("", ".", "..")]


def _strip_suffix(name: str) -> str:
    for suffix in (".py", ".pyc", ".pyw", ".pyx", ".so"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _digest(*parts: str) -> str:
    text = "\n".join((VERSION, *parts))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
