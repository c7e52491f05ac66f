"""Config problems located in the YAML text: every error names its key path and line.

``Positions`` maps each key path (``("rules", 1, "cooldown")``) to where its
key and its value stand in the file; ``ProblemLog`` collects problems from
every check so that ``ConfigError`` reports them all at once, in file order.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from logwatch.errors import ConfigError, ConfigProblem

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


START = Position(1, 1)


class Positions:
    """Where each key path's key and value stand in the text."""

    def __init__(self) -> None:
        self._keys: dict[Loc, Position] = {}
        self._values: dict[Loc, Position] = {(): START}

    def record(self, loc: Loc, *, key: Position | None, value: Position) -> None:
        if key is not None:
            self._keys[loc] = key
        self._values[loc] = value

    def value(self, loc: Loc) -> Position:
        """The value at ``loc``, or of its nearest ancestor present in the text.

        A default that was never written, or a single string standing for a
        list, has no position of its own; its parent's is the best guess.
        """
        for end in range(len(loc), -1, -1):
            position = self._values.get(loc[:end])
            if position is not None:
                return position
        return START

    def key(self, loc: Loc) -> Position:
        return self._keys.get(loc) or self.value(loc)


def format_loc(loc: Loc) -> str:
    """Spell a key path the way a reader finds it: ``rules[1].match.level``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def where(loc: Loc) -> str:
    return f"in {format_loc(loc)}" if loc else "at the top level"


def suggest(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'cooldown'?`` when a choice is close to a misspelt word."""
    import difflib  # only a config with a problem needs it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class ProblemLog:
    """Collect located problems; ``raise_if_any`` turns them into one ConfigError."""

    def __init__(self, path: str, positions: Positions) -> None:
        self.path = path
        self.positions = positions
        self._problems: list[ConfigProblem] = []
        self._reported: set[Loc] = set()

    def add(self, position: Position, message: str) -> None:
        self._problems.append(ConfigProblem(self.path, position.line, position.column, message))

    def at_value(self, loc: Loc, message: str) -> None:
        self._reported.add(loc)
        self.add(self.positions.value(loc), message)

    def at_key(self, loc: Loc, message: str) -> None:
        self._reported.add(loc)
        self.add(self.positions.key(loc), message)

    def was_reported(self, loc: Loc) -> bool:
        """True when ``loc`` or an ancestor already has a problem: say it once, not twice."""
        return any(loc[:end] in self._reported for end in range(1, len(loc) + 1))

    def raise_if_any(self) -> None:
        if self._problems:
            ordered = sorted(
                dict.fromkeys(self._problems), key=lambda p: (p.line, p.column, p.message)
            )
            raise ConfigError(ordered)

    def add_validation_error(
        self, exc: ValidationError, model: type[BaseModel], prefix: Loc = ()
    ) -> None:
        """Translate pydantic's errors for ``model`` (validated at ``prefix``) into problems."""
        for error in exc.errors(include_url=False):
            relative: Loc = tuple(error["loc"])
            loc = prefix + relative
            if self.was_reported(loc):
                continue
            kind = error["type"]
            if kind == "extra_forbidden" and relative:
                key = str(loc[-1])
                hint = suggest(key, allowed_keys(model, relative[:-1]))
                self.at_key(loc, f"unknown key {key!r} {where(loc[:-1])}{hint}")
            elif kind == "missing" and relative:
                # The key is absent, so point at the mapping that lacks it.
                parent = loc[:-1]
                self.add(self.positions.value(parent), f"missing key {loc[-1]!r} {where(parent)}")
            else:
                self.at_value(loc, f"{format_loc(loc) or 'config'}: {_message(error)}")


def _message(error: Any) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    # A YAML reader knows lists, not tuples.
    message = message.replace("Tuple should", "List should")
    if error["type"] in ("literal_error", "enum") and isinstance(error["input"], str | int):
        message += f" (got {error['input']!r})"
    return message[:1].lower() + message[1:] if message[1:2].islower() else message


def allowed_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the mapping at ``loc`` inside ``model`` may hold, as spelt in YAML."""
    target = _descend(model, loc)
    if isinstance(target, type) and issubclass(target, BaseModel):
        return [field.alias or name for name, field in target.model_fields.items()]
    return []


def _descend(annotation: Any, loc: Sequence[str | int]) -> Any:
    for part in loc:
        annotation = _child(annotation, part)
        if annotation is None:
            return None
    return _unwrap(annotation)


def _child(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    if origin in (tuple, list) and isinstance(part, int) and args:
        return args[0]
    if origin is dict and args:
        return args[1]
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to the type that holds keys."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation
