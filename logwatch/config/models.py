"""Validated, frozen config objects: what every stage past ``config/`` sees.

Durations are float seconds, sizes int bytes, regexes compiled. Relative
paths resolve against the directory passed as validation context
``{"base_dir": Path}`` (the config file's), so a config works from any
working directory.
"""

from __future__ import annotations

import codecs
import re
import socket
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationInfo,
    field_validator,
    model_validator,
)

from logwatch.config.fields import Duration, LevelName, Levels, Regex, SeverityName, Size, Strings
from logwatch.notifiers.base import NotifierOptions

MIB = 1 << 20
HEADER_GROUPS = ("timestamp", "level", "logger", "message")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class _Frozen(BaseModel):
    # Numbers become strings where a string is wanted: `labels: {tier: 1}` is fine.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )


def _resolve(path: str | Path, info: ValidationInfo) -> Path:
    base_dir = (info.context or {}).get("base_dir")
    resolved = Path(path).expanduser()
    return base_dir / resolved if base_dir is not None else resolved


class MultilineConfig(_Frozen):
    flush_after: Duration = Field(default=0.25, gt=0)  # idle this long: emit the pending event
    max_wait: Duration = Field(default=5.0, gt=0)  # emit an event still growing after this long
    max_lines: int = Field(default=1000, ge=1)
    max_bytes: Size = Field(default=MIB, ge=1)


class SourceConfig(_Frozen):
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

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            return codecs.lookup(encoding).name
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r}") from None


class MatchConfig(_Frozen):
    """What an event must have for a rule to apply; every given field must match."""

    exception: Strings = ()  # globs on exception types, any in the chain
    message: Regex | None = None  # searched in the message and the exception message
    level: Levels = ()
    min_level: LevelName | None = None
    source: Strings = ()
    logger: Strings = ()  # globs
    file: Strings = ()  # globs
    traceback: bool | None = None


class ThresholdConfig(_Frozen):
    count: int = Field(ge=1)
    within: Duration = Field(gt=0)


class RuleConfig(_Frozen):
    name: str = Field(min_length=1)
    match: MatchConfig
    action: Literal["alert", "drop"] = "alert"
    severity: SeverityName | None = None  # None: derive from the record's level
    threshold: ThresholdConfig | None = None
    cooldown: Duration | None = None
    group_by: Strings = ("fingerprint",)
    resolve_after: Duration | None = Field(default=None, gt=0)
    notify: Strings = ()
    continue_: bool = Field(default=False, alias="continue")


class NotifierConfig(_Frozen):
    name: str
    type: str
    # The plugin's own Options subclass: SerializeAsAny dumps its fields too.
    options: SerializeAsAny[NotifierOptions]


class MetricsConfig(_Frozen):
    listen: str = "127.0.0.1:9717"

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, listen: str) -> str:
        _, sep, port = listen.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"listen must be HOST:PORT, like 127.0.0.1:9717, not {listen!r}")
        return listen


class SelfWatchConfig(_Frozen):
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
    def _backoff_grows(self) -> DeliveryConfig:
        if self.max_backoff < self.initial_backoff:
            raise ValueError("max_backoff must not be shorter than initial_backoff")
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

    @field_validator("state_dir")
    @classmethod
    def _resolve_state_dir(cls, state_dir: Path, info: ValidationInfo) -> Path:
        return _resolve(state_dir, info)

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, level: str) -> str:
        if level.lower() not in LOG_LEVELS:
            raise ValueError(f"unknown log_level {level!r}; use one of {', '.join(LOG_LEVELS)}")
        return level.lower()
