"""Rules stage, muting: silences (matchers + a time span) decide what is not sent.

Alertmanager's model: a silence is a set of label matchers (``=``, ``!=``,
``=~``, ``!~``; regexes anchored at both ends) with a start, an end, an author
and a comment. It mutes every alert whose labels satisfy all its matchers
while ``starts_at <= now < ends_at``. An alert's labels are its fields
(rule, severity, host, ...) plus the configured labels.

Matchers come from operators (``logwatch silence add --match K=V``), never
from log lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from logwatch.model import Alert

_OPERATORS = ("=~", "!~", "!=", "=")
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_MATCHER = re.compile(
    r"\s*(?P<name>[A-Za-z_][A-Za-z0-9_.]*)\s*(?P<op>=~|!~|!=|=)(?P<value>.*)", re.DOTALL
)


class Silencer(Protocol):
    """Decides whether an alert is muted right now (silences, quiet hours)."""

    def silenced(self, alert: Alert, now: datetime) -> bool: ...


class AnySilencer:
    """Muted when any of the silencers mutes: silences, then quiet hours."""

    def __init__(self, *silencers: Silencer) -> None:
        self._silencers = silencers

    def silenced(self, alert: Alert, now: datetime) -> bool:
        return any(silencer.silenced(alert, now) for silencer in self._silencers)


def alert_labels(alert: Alert) -> dict[str, str]:
    """The label set silences match: configured labels, then the alert's own fields."""
    labels = dict(alert.labels)
    # The alert's own fields win over a configured label of the same name:
    # `rule=db-down` must mean the rule.
    labels.update(
        {
            "rule": alert.rule,
            "severity": str(alert.severity),
            "host": alert.host,
            "source": alert.source,
            "file": alert.file,
            "exc_type": alert.exc_type or "",
            "fingerprint": alert.fingerprint or "",
            "level": alert.level or "",
            "logger": alert.logger or "",
        }
    )
    return labels


@dataclass(frozen=True, slots=True)
class LabelMatcher:
    """One ``name<op>value`` condition; a missing label counts as empty."""

    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> LabelMatcher:
        """Parse ``rule=db-down``, ``severity!=info``, ``host=~web-.*``, ``file!~.*debug.*``."""
        parsed = _MATCHER.fullmatch(text)
        if parsed is None:
            raise ValueError(f"bad matcher {text!r}; use NAME=VALUE, NAME!=VALUE, =~ or !~")
        return cls.build(parsed["name"], parsed["op"], parsed["value"].strip())

    @classmethod
    def build(cls, name: str, op: str, value: str) -> LabelMatcher:
        if op not in _OPERATORS:
            raise ValueError(f"bad matcher operator {op!r}; use =, !=, =~ or !~")
        if not _LABEL_NAME.fullmatch(name):
            raise ValueError(f"bad label name {name!r} in matcher")
        regex = None
        if op in ("=~", "!~"):
            try:
                regex = re.compile(value)
            except re.error as exc:
                raise ValueError(f"bad regex {value!r} in matcher {name}{op}: {exc}") from exc
        return cls(name, op, value, regex)

    def __call__(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self._regex is not None:
            return bool(self._regex.fullmatch(actual)) == (self.op == "=~")
        return (actual == self.value) == (self.op == "=")

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[LabelMatcher, ...]
    starts_at: datetime
    ends_at: datetime
    comment: str = ""
    created_by: str = ""
    # The host whose state dir holds it, where silences are a fleet's
    # (`state: {backend: redis}`); "" where they are this host's alone.
    host: str = ""

    def state(self, now: datetime) -> str:
        """``pending``, ``active`` or ``expired``, as Alertmanager names them."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def mutes(self, labels: dict[str, str], now: datetime) -> bool:
        return self.state(now) == "active" and all(match(labels) for match in self.matchers)

    def record(self, now: datetime) -> dict[str, Any]:
        """The silence as `silence list --json` and `status --json` print it (one shape)."""
        record: dict[str, Any] = {
            "id": self.id,
            "state": self.state(now),
            "matchers": [str(matcher) for matcher in self.matchers],
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "comment": self.comment,
            "created_by": self.created_by,
        }
        if self.host:
            record["host"] = self.host
        return record


def first_to_end(*copies: Iterable[Silence]) -> list[Silence]:
    """One silence per id, its copy that ends first, by start then id.

    A silence only ever gets shorter (``silence expire`` ends it early), so
    of two copies the one that ends first is the newer news.
    """
    kept: dict[str, Silence] = {}
    for silence in (silence for listed in copies for silence in listed):
        other = kept.get(silence.id)
        if other is None:
            kept[silence.id] = silence
        elif silence.ends_at < other.ends_at:
            kept[silence.id] = replace(silence, host=silence.host or other.host)
        elif not other.host:
            kept[silence.id] = replace(other, host=silence.host)
    return sorted(kept.values(), key=lambda s: (s.starts_at, s.id))


class SilenceSet:
    """A Silencer over a fixed list of silences."""

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        self.silences = tuple(silences)

    def silenced(self, alert: Alert, now: datetime) -> bool:
        if not self.silences:
            return False
        labels = alert_labels(alert)
        return any(silence.mutes(labels, now) for silence in self.silences)
