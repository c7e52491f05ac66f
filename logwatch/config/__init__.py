"""YAML -> validated, frozen config objects; ``${ENV}``; errors carry file:line:col.

load_config(path)  ->  parse_document   YAML nodes -> data + positions, ${VAR} expanded
                   ->  build_notifiers  each plugin's Options validates its entry
                   ->  check_references notify/source names exist, names are unique
                   ->  Config           pydantic: types, durations, sizes, regexes
                   =>  Config, or ConfigError with every problem, in file order
"""

from logwatch.config.fields import LEVEL_ORDER, LEVELS, parse_duration, parse_size
from logwatch.config.loader import (
    default_replay_config,
    load_config,
    load_config_text,
    load_shared_state,
    load_state_dir,
)
from logwatch.config.models import (
    Config,
    CooldownGrowthConfig,
    DeliveryConfig,
    MatchConfig,
    MetricsConfig,
    MultilineConfig,
    NotifierConfig,
    RateConfig,
    RedactConfig,
    RouteConfig,
    RuleConfig,
    SelfWatchConfig,
    SourceConfig,
    StateConfig,
    TemplateConfig,
    ThresholdConfig,
    TimeIntervalConfig,
)
from logwatch.config.schema import config_schema

__all__ = [
    "LEVELS",
    "LEVEL_ORDER",
    "Config",
    "CooldownGrowthConfig",
    "DeliveryConfig",
    "MatchConfig",
    "MetricsConfig",
    "MultilineConfig",
    "NotifierConfig",
    "RateConfig",
    "RedactConfig",
    "RouteConfig",
    "RuleConfig",
    "SelfWatchConfig",
    "SourceConfig",
    "StateConfig",
    "TemplateConfig",
    "ThresholdConfig",
    "TimeIntervalConfig",
    "config_schema",
    "default_replay_config",
    "load_config",
    "load_config_text",
    "load_shared_state",
    "load_state_dir",
    "parse_duration",
    "parse_size",
]
