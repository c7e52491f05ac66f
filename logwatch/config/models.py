"""Validated, frozen config objects: what every stage past ``config/`` sees.

Durations are float seconds, sizes int bytes, regexes compiled. Relative
paths resolve against the directory passed as validation context
``{"base_dir": Path}`` (the config file's), so a config works from any
working directory.
"""

# No `from __future__ import annotations` here: pydantic would evaluate each field's
# annotation from its text, ~2 ms of every start-up (the models are built at import).

import codecs
import re
import socket
from datetime import UTC
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationInfo,
    field_validator,
    model_validator,
)

from logwatch.config.fields import (
    Duration,
    LevelName,
    Levels,
    Regex,
    SeverityName,
    Size,
    Strings,
    one_or_many,
)
from logwatch.multiline.timestamps import LOCAL, zone_named
from logwatch.notifiers.base import NotifierOptions, RateLimit
from logwatch.rules.alerts import check_group_by
from logwatch.rules.match import REGEX_PREFIX
from logwatch.rules.routes import parse_matcher
from logwatch.rules.templates import compile_template
from logwatch.rules.timeintervals import TimeInterval
from logwatch.sources.framing import reads_ascii_as_ascii

MIB = 1 << 20
MAX_CONTEXT_LINES = 100
HEADER_GROUPS = ("timestamp", "level", "logger", "message")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class _Frozen(BaseModel):
    # Numbers become strings where a string is wanted: `labels: {tier: 1}` is fine.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )


class _Nested(_Frozen):
    # Validated only inside Config, whose validator holds their schemas: a
    # validator of their own would be built at import for nothing (~1 ms of every
    # start-up). A model validated or built on its own derives from _Frozen.
    model_config = ConfigDict(defer_build=True)


def _resolve(path: str | Path, info: ValidationInfo) -> Path:
    base_dir = (info.context or {}).get("base_dir")
    resolved = Path(path).expanduser()
    return base_dir / resolved if base_dir is not None else resolved


class MultilineConfig(_Frozen):
    flush_after: Duration = Field(default=0.25, gt=0)  # idle this long: emit the pending event
    max_wait: Duration = Field(default=5.0, gt=0)  # emit an event still growing after this long
    max_lines: int = Field(default=1000, ge=1)
    max_bytes: Size = Field(default=MIB, ge=1)


class SourceConfig(_Nested):
    name: str = Field(min_length=1)
    paths: Strings = Field(min_length=1)  # globs, resolved against the config's directory
    exclude: Strings = ()
    start_at: Literal["end", "beginning"] = "end"
    new_files_from: Literal["beginning", "end"] = "beginning"
    format: Literal["auto", "text", "json"] = "auto"
    multiline: MultilineConfig = MultilineConfig()
    max_line_bytes: Size = Field(default=MIB, ge=1)
    header: Regex | None = None
    encoding: str = "utf-8"
    context_lines: int = Field(default=0, ge=0, le=MAX_CONTEXT_LINES)  # lines before an event
    timezone: str = Field(
        default="UTC",
        description="the zone of the times the files write without one: an IANA name"
        " (Europe/Berlin), UTC, or local for this machine's",
    )

    @field_validator("paths")
    @classmethod
    def _resolve_paths(cls, paths: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        return tuple(str(_resolve(path, info)) for path in paths)

    @field_validator("header")
    @classmethod
    def _known_groups(cls, header: re.Pattern[str] | None) -> re.Pattern[str] | None:
        for group in header.groupindex if header else ():
            if group not in HEADER_GROUPS:
                raise ValueError(
                    f"unknown named group {group!r} in header; use {', '.join(HEADER_GROUPS)}"
                )
        return header

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, timezone: str) -> str:
        zone = zone_named(timezone)
        return "UTC" if zone is UTC else LOCAL if zone is None else timezone

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r}") from None
        if not reads_ascii_as_ascii(name):
            raise ValueError(
                f"encoding {name} is not supported: files are split into lines at the byte"
                " 0x0A and searched for ASCII text as bytes, which needs an encoding that"
                " writes ASCII as ASCII (utf-8, latin-1, cp1252, gbk, gb18030, big5,"
                " shift_jis, euc-jp, ...)"
            )
        return name


class MatchConfig(_Nested):
    """What an event must have for a rule to apply; every given field must match."""

    exception: Strings = ()  # globs on exception types, any in the chain
    message: Regex | None = None  # searched in the message and the exception message
    level: Levels = ()
    min_level: LevelName | None = None
    source: Strings = ()
    logger: Strings = ()  # globs
    file: Strings = ()  # globs
    traceback: bool | None = None
    function: Strings = ()  # globs on the functions of in-app frames
    module: Strings = ()  # globs on their dotted modules (`app.payments`)
    fields: dict[str, str] = Field(default_factory=dict)  # JSON record fields: glob, or re:REGEX

    @field_validator("fields")
    @classmethod
    def _field_patterns(cls, fields: dict[str, str]) -> dict[str, str]:
        for name, pattern in fields.items():
            if pattern.startswith(REGEX_PREFIX):
                try:
                    re.compile(pattern.removeprefix(REGEX_PREFIX))
                except re.error as exc:
                    raise ValueError(f"bad regex for field {name!r}: {exc}") from None
        return fields


class ThresholdConfig(_Nested):
    count: int = Field(ge=1)
    within: Duration = Field(gt=0)


class CooldownGrowthConfig(_Nested):
    """While alerts keep coming, each cooldown is `factor` times the last, up to `max`."""

    max: Duration = Field(gt=0)
    factor: float = Field(default=2.0, gt=1)


class TemplateConfig(_Frozen):
    """Jinja2 templates for an alert's title and body; compiled now, so check reports them."""

    title: str | None = None
    body: str | None = None

    @field_validator("title", "body")
    @classmethod
    def _compiles(cls, source: str | None) -> str | None:
        if source is not None:
            compile_template(source)
        return source


def _yaml11_sexagesimal(value: object) -> object:
    """Undo YAML 1.1 reading `22:00` or `1:7` (unquoted) as a base-60 integer.

    Such integers are at least 60; a day of the month or a month never is.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 60:
        return f"{value // 60}:{value % 60:02d}"
    return value


def _each_sexagesimal(value: object) -> object:
    value = one_or_many(value)
    if isinstance(value, list | tuple):
        return [_yaml11_sexagesimal(item) for item in value]
    return value


_ClockTime = Annotated[str, BeforeValidator(_yaml11_sexagesimal)]
_DayRanges = Annotated[tuple[str, ...], BeforeValidator(_each_sexagesimal)]


class TimeRangeConfig(_Nested):
    start: _ClockTime
    end: _ClockTime


class TimeIntervalConfig(_Nested):
    """One Alertmanager-style interval; every field given must hold."""

    times: tuple[TimeRangeConfig, ...] = ()
    weekdays: Strings = ()  # monday, monday:friday
    days_of_month: _DayRanges = ()  # 1, 1:7, -1 (the last day)
    months: _DayRanges = ()  # 1, january, january:march
    years: Strings = ()
    location: str = "UTC"  # an IANA zone: Europe/Berlin

    @model_validator(mode="after")
    def _parses(self) -> Self:
        self.interval()
        return self

    def interval(self) -> TimeInterval:
        return TimeInterval.parse(
            times=[{"start": span.start, "end": span.end} for span in self.times],
            weekdays=self.weekdays,
            days_of_month=self.days_of_month,
            months=self.months,
            years=self.years,
            location=self.location,
        )


class RouteConfig(_Nested):
    """A node of the routes tree: where the alerts of rules without `notify` go."""

    matchers: Strings = ()  # severity=critical, team=~"pay.*", exc_type!=KeyError
    notify: Strings | None = None  # None: the parent's
    group_wait: Duration | None = None
    group_interval: Duration | None = Field(default=None, gt=0)
    mute_during: Strings = ()
    active_during: Strings = ()
    continue_: bool = Field(default=False, alias="continue")
    routes: tuple["RouteConfig", ...] = ()

    @field_validator("matchers")
    @classmethod
    def _matchers_parse(cls, matchers: tuple[str, ...]) -> tuple[str, ...]:
        for text in matchers:
            parse_matcher(text)
        return matchers


class RedactConfig(_Frozen):
    defaults: bool = True  # the built-in patterns: URL passwords, tokens, keys, cards, ...
    patterns: tuple[Regex, ...] = ()  # masked whole, or only their groups when they have some


NOTIFY_ON = Literal["new", "regression", "every"]


class RuleConfig(_Nested):
    name: str = Field(min_length=1)
    match: MatchConfig
    action: Literal["alert", "drop"] = "alert"
    severity: SeverityName | None = None  # None: derive from the record's level
    threshold: ThresholdConfig | None = None
    cooldown: Duration | None = None
    cooldown_growth: CooldownGrowthConfig | None = None
    group_by: Strings = ("fingerprint",)
    resolve_after: Duration | None = Field(default=None, gt=0)
    notify: Strings = ()  # empty: the routes decide
    continue_: bool = Field(default=False, alias="continue")
    notify_on: Annotated[tuple[NOTIFY_ON, ...], BeforeValidator(one_or_many)] = ("every",)
    group_wait: Duration | None = None
    group_interval: Duration | None = Field(default=None, gt=0)
    labels: dict[str, str] = Field(default_factory=dict)  # values are templates
    template: TemplateConfig | None = None
    context_lines: int | None = Field(default=None, ge=0, le=MAX_CONTEXT_LINES)
    mute_during: Strings = ()  # time interval names
    active_during: Strings = ()

    @field_validator("group_by")
    @classmethod
    def _groupable(cls, group_by: tuple[str, ...]) -> tuple[str, ...]:
        check_group_by(group_by)
        return group_by

    @field_validator("labels")
    @classmethod
    def _label_templates(cls, labels: dict[str, str]) -> dict[str, str]:
        for name, value in labels.items():
            try:
                compile_template(value)
            except ValueError as exc:
                raise ValueError(f"label {name!r}: {exc}") from None
        return labels

    @model_validator(mode="after")
    def _regression_needs_resolve(self) -> Self:
        if "regression" in self.notify_on and not self.resolve_after:
            raise ValueError(
                "notify_on: regression needs resolve_after: a fingerprint comes back"
                " only after its group resolved"
            )
        return self


class RateConfig(_Frozen):
    """At most `count` sends in any window of `per`; the delivery worker keeps to it."""

    count: int = Field(ge=1)
    per: Duration = Field(gt=0)

    def limit(self) -> RateLimit:
        return RateLimit(count=self.count, per_s=self.per)


class NotifierConfig(_Frozen):
    name: str
    type: str
    template: TemplateConfig | None = None  # the rule's `template` wins over it
    # the provider's documented limits unless the config says otherwise; () is unlimited
    rate: tuple[RateConfig, ...] = ()
    # The plugin's own Options subclass: SerializeAsAny dumps its fields too.
    options: SerializeAsAny[NotifierOptions]


class MetricsConfig(_Nested):
    listen: str = "127.0.0.1:9717"

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, listen: str) -> str:
        _, sep, port = listen.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"listen must be HOST:PORT, like 127.0.0.1:9717, not {listen!r}")
        return listen


class SelfWatchConfig(_Nested):
    """Tell a fallback notifier when another one keeps failing; logwatch watching itself."""

    notifier: str = Field(min_length=1)  # the fallback; must name a configured notifier
    after: Duration = Field(default=300.0, gt=0)  # failing this long, without a success
    dead_letters: bool = True  # a dead-lettered alert starts an incident at once


class DeliveryConfig(_Frozen):
    timeout: Duration = Field(default=10.0, gt=0)
    initial_backoff: Duration = Field(default=1.0, gt=0)
    max_backoff: Duration = Field(default=300.0, gt=0)
    grace_on_stop: Duration = 5.0
    batch: int = Field(default=50, ge=1)

    @model_validator(mode="after")
    def _backoff_grows(self) -> Self:
        if self.max_backoff < self.initial_backoff:
            raise ValueError("max_backoff must not be shorter than initial_backoff")
        return self


REDIS_SCHEMES = ("redis", "rediss", "unix")


def _redis_reads(url: str) -> None:
    """Raise ValueError where redis-py, if installed, cannot read ``url`` (a query
    option's value, say), without quoting it: the url may hold a password."""
    try:
        from redis.connection import parse_url
    except ImportError:
        return  # without the redis extra the daemon says so; nothing to check it with
    try:
        parse_url(url)  # type: ignore[no-untyped-call]  # redis-py leaves it bare
    except ValueError as exc:
        # redis-py's own words name the option, never the url's text
        raise ValueError(f"url cannot be read: {exc}") from None


class StateConfig(_Frozen):
    """Where rule state lives: this host's state.db, or a Redis a fleet of hosts shares."""

    backend: Literal["sqlite", "redis"] = "sqlite"
    # redis://[[user]:password@]host:port/db, rediss:// for TLS, unix:///path.sock.
    # It may hold a password, so it stays out of repr() and out of error messages.
    url: str | None = Field(default=None, repr=False)
    prefix: str = Field(default="logwatch:", min_length=1)  # one per fleet sharing a Redis
    # Each Redis round trip waits at most this long: reading logs must not stall on it.
    timeout: Duration = Field(default=0.25, gt=0)
    retry_every: Duration = Field(default=5.0, gt=0)  # while Redis is down, try it this often

    @field_validator("url")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        scheme = (url or "").partition("://")[0]
        if url is not None and scheme not in REDIS_SCHEMES:
            raise ValueError("url must start with redis://, rediss:// or unix://")
        if url is not None:
            try:
                split = urlsplit(url)  # as redis-py reads it
                _ = split.port
                # an "@" past the host, or a fragment (which no Redis URL has): a "#", "/"
                # or "?" in the password ended the host early, and digits before it
                # read as a port (redis://:4711#x@host goes to localhost:4711)
                broken = scheme != "unix" and (
                    bool(split.fragment) or "@" in split.path + split.query
                )
            except ValueError:
                broken = True
            if broken:
                # not the parser's message: it quotes what it took for the port, which
                # is the start of the password when that holds a "#", "/" or "?"
                raise ValueError(
                    "url has no valid port after its host (a port from 0 to 65535); a"
                    ' password holding "#", "/" or "?" must be percent-encoded:'
                    " %23, %2F, %3F"
                )
            _redis_reads(url)
        return url

    @model_validator(mode="after")
    def _redis_needs_url(self) -> Self:
        if self.backend == "redis" and not self.url:
            raise ValueError("backend redis needs url, like redis://10.0.0.5:6379/0")
        return self


class Config(_Frozen):
    state_dir: Path = Path("/var/lib/logwatch")
    host: str = Field(default_factory=socket.gethostname, min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)
    sources: tuple[SourceConfig, ...] = ()
    rules: tuple[RuleConfig, ...] = ()
    notifiers: dict[str, NotifierConfig] = Field(default_factory=dict)
    metrics: MetricsConfig | None = None
    selfwatch: SelfWatchConfig | None = None
    log_level: str = "info"
    delivery: DeliveryConfig = DeliveryConfig()
    redact: RedactConfig = RedactConfig()
    time_intervals: dict[str, tuple[TimeIntervalConfig, ...]] = Field(default_factory=dict)
    routes: tuple[RouteConfig, ...] = ()
    state: StateConfig = StateConfig()  # rule state: sqlite in state_dir, or a shared Redis

    @field_validator("state_dir")
    @classmethod
    def _resolve_state_dir(cls, state_dir: Path, info: ValidationInfo) -> Path:
        resolved = _resolve(state_dir, info)
        if resolved.exists() and not resolved.is_dir():
            # `check` says so, rather than the daemon failing on "File exists"
            raise ValueError(f"{resolved} is a file; state_dir names a directory")
        return resolved

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, level: str) -> str:
        if level.lower() not in LOG_LEVELS:
            raise ValueError(f"unknown log_level {level!r}; use one of {', '.join(LOG_LEVELS)}")
        return level.lower()
