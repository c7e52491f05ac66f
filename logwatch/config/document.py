"""YAML text -> plain data plus the position of every key and value.

PyYAML's SafeLoader composes the node tree (safe: no tags construct objects);
we convert the nodes ourselves instead of calling ``construct_document``,
because only the nodes still know their line and column. On the way, each
string scalar gets its ``${VAR}`` references expanded and duplicate keys are
reported.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from logwatch.config.problems import Loc, Position, ProblemLog, format_loc, where
from logwatch.envvars import ExpansionError, expand

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class MarkedLoader(yaml.SafeLoader):
    """A SafeLoader whose nodes we convert by hand, keeping their marks."""


def _position(mark: yaml.Mark | None) -> Position:
    return Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)


def parse_document(
    text: str,
    log: ProblemLog,
    environ: Mapping[str, str],
    *,
    only: Collection[str] | None = None,
    unset_ok: Callable[[Loc], bool] | None = None,
    unset_at: set[Loc] | None = None,
) -> Any:
    """Parse ``text``; record positions and problems in ``log``; return plain data.

    Broken YAML leaves nothing else to check: it raises ConfigError with the
    parser's one problem at once. With ``only``, the other top-level keys are
    left out unread: none of their ``${VAR}`` need be set. A value at a place
    ``unset_ok`` accepts may name unset variables: it is no problem, and its
    place is added to ``unset_at``.
    """
    try:
        loader = MarkedLoader(text)  # the reader rejects unprintable characters right here
        try:
            node = loader.get_single_node()
            if node is None:  # an empty file: every key takes its default
                return {}
            converter = _Converter(loader, log, environ, only, unset_ok)
            try:
                return converter.convert(node, ())
            finally:
                if unset_at is not None:
                    unset_at.update(converter.unset_at)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        log.add(_position(mark), f"invalid YAML: {exc.problem or exc.context}")
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        log.add(Position(line, column), f"invalid YAML: unprintable character U+{code:04X}")
    except RecursionError:  # the parser and the conversion recurse once a level
        log.add(Position(1, 1), "invalid YAML: collections nested too deeply")
    except _TooManyValuesError:
        log.add(Position(1, 1), f"invalid YAML: over {MAX_VALUES:,} values, aliases expanded")
    log.raise_if_any()
    return None


# Each alias is converted again where it is used (each place keeps its own
# positions): ten aliases to ten aliases to ... would be a billion values from
# a few hundred bytes. A config has hundreds.
MAX_VALUES = 100_000


class _TooManyValuesError(Exception):
    pass


class _Converter:
    def __init__(
        self,
        loader: MarkedLoader,
        log: ProblemLog,
        environ: Mapping[str, str],
        only: Collection[str] | None = None,
        unset_ok: Callable[[Loc], bool] | None = None,
    ) -> None:
        self._loader = loader
        self._log = log
        self._environ = environ
        self._only = only
        self._unset_ok = unset_ok
        self.unset_at: set[Loc] = set()
        self._open: set[int] = set()  # nodes being converted: an alias cycle revisits one
        self._left = MAX_VALUES

    def convert(self, node: Node, loc: Loc) -> Any:
        self._left -= 1
        if self._left < 0:
            raise _TooManyValuesError
        if id(node) in self._open:
            self._log.at_value(loc, f"{format_loc(loc)}: an alias refers to itself")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, loc)
            if isinstance(node, SequenceNode):
                return self._sequence(node, loc)
            return self._scalar(node, loc)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: Node, loc: Loc) -> Any:
        try:
            # SafeConstructor knows only YAML's own types: any other tag raises.
            value = self._loader.construct_object(node)
        except yaml.constructor.ConstructorError as exc:
            self._log.at_value(loc, f"{format_loc(loc) or 'config'}: {exc.problem}")
            return None
        except ValueError as exc:  # an explicit tag on a wrong value: `!!int abc`
            self._log.at_value(loc, f"{format_loc(loc) or 'config'}: bad {node.tag} value: {exc}")
            return None
        if isinstance(value, str):
            try:
                value = expand(value, self._environ)
            except ExpansionError as exc:
                if exc.unset_only and self._unset_ok is not None and self._unset_ok(loc):
                    self.unset_at.add(loc)
                else:
                    self._log.at_value(loc, f"{format_loc(loc) or 'config'}: {exc}")
        return value

    def _sequence(self, node: SequenceNode, loc: Loc) -> list[Any] | None:
        if node.tag != _SEQ_TAG:
            self._log.at_value(loc, f"{format_loc(loc) or 'config'}: unsupported tag {node.tag!r}")
            return None
        items = []
        for index, child in enumerate(node.value):
            child_loc = (*loc, index)
            self._log.positions.record(child_loc, key=None, value=_position(child.start_mark))
            items.append(self.convert(child, child_loc))
        return items

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[str, Any] | None:
        if node.tag != _MAP_TAG:
            self._log.at_value(loc, f"{format_loc(loc) or 'config'}: unsupported tag {node.tag!r}")
            return None
        own_pairs = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
        try:
            # Resolve `<<: *defaults` merge keys; merged pairs come first, so own keys override.
            self._loader.flatten_mapping(node)
        except yaml.constructor.ConstructorError as exc:
            self._log.add(_position(exc.problem_mark), f"invalid YAML: {exc.problem}")
            return None
        merged_count = len(node.value) - own_pairs
        result: dict[str, Any] = {}
        seen: dict[str, Position] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            key_position = _position(key_node.start_mark)
            if not isinstance(key_node, ScalarNode):
                self._log.add(key_position, f"a key {where(loc)} must be a plain string")
                continue
            # The key as written: YAML 1.1 would read `on:` or `1:` as a bool or an int.
            key = str(key_node.value)
            if not loc and self._only is not None and key not in self._only:
                continue
            child_loc = (*loc, key)
            if index >= merged_count:
                if key in seen:
                    first = seen[key]
                    self._log.add(
                        key_position,
                        f"duplicate key {key!r} {where(loc)} (first at line {first.line})",
                    )
                seen[key] = key_position
            self._log.positions.record(
                child_loc, key=key_position, value=_position(value_node.start_mark)
            )
            result[key] = self.convert(value_node, child_loc)
        return result
