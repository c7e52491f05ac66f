"""Rules stage: Event -> Decision (an Alert to send, or why not).

    Event ──Matcher (+ named groups)──> first matching rule (more with `continue`)
          ──drop──────────────────────────────> Decision(suppressed="dropped-by-rule")
          ──notify_on (known fingerprints)────> Decision(suppressed="seen-before")
          ──threshold window (RuleState)──────> Decision(suppressed="threshold")
          ──Redactor──> Alert ──Router────────> Decision(suppressed="no-route")
          ──mute intervals, Silencer──────────> Decision(suppressed="silenced")
          ──cooldown (RuleState)──────────────> Decision(suppressed="cooldown")
          ──group_wait batch (RuleState)──────> Decision(suppressed="grouped")
          ──templates per notifier────────────> Decision(alert=..., per_notifier=...)
    tick(now) ──> cooldown summaries, digests, `resolved` notices

The engine is pure: no files, no clock, no threads. ``now`` comes from the
caller; what must outlive a restart lives behind ``RuleState``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from logwatch.lazy import lazy_names

if TYPE_CHECKING:
    from logwatch.rules.engine import (
        COOLDOWN,
        DROPPED,
        GROUPED,
        NO_ROUTE,
        SEEN_BEFORE,
        SILENCED,
        THRESHOLD,
        CooldownGrowthSpec,
        Decision,
        RuleEngine,
        RuleSpec,
        ThresholdSpec,
    )
    from logwatch.rules.match import LEVEL_RANKS, Matcher, MatchSpec, level_rank
    from logwatch.rules.redact import Redactor
    from logwatch.rules.routes import Destination, Router, RouteSpec, parse_matcher
    from logwatch.rules.silence_store import SilenceStore
    from logwatch.rules.silences import (
        AnySilencer,
        LabelMatcher,
        Silence,
        Silencer,
        SilenceSet,
        alert_labels,
    )
    from logwatch.rules.sqlite import SqliteRuleState
    from logwatch.rules.state import FingerprintState, GroupState, MemoryRuleState, RuleState
    from logwatch.rules.templates import AlertTemplate, TemplateSpec, compile_template
    from logwatch.rules.timeintervals import MuteTimes, TimeInterval

__all__ = [
    "COOLDOWN",
    "DROPPED",
    "GROUPED",
    "LEVEL_RANKS",
    "NO_ROUTE",
    "SEEN_BEFORE",
    "SILENCED",
    "THRESHOLD",
    "AlertTemplate",
    "AnySilencer",
    "CooldownGrowthSpec",
    "Decision",
    "Destination",
    "FingerprintState",
    "GroupState",
    "LabelMatcher",
    "MatchSpec",
    "Matcher",
    "MemoryRuleState",
    "MuteTimes",
    "Redactor",
    "RouteSpec",
    "Router",
    "RuleEngine",
    "RuleSpec",
    "RuleState",
    "Silence",
    "SilenceSet",
    "SilenceStore",
    "Silencer",
    "SqliteRuleState",
    "TemplateSpec",
    "ThresholdSpec",
    "TimeInterval",
    "alert_labels",
    "compile_template",
    "level_rank",
    "parse_matcher",
]

# Imported on first use: `logwatch check` validates rules with a few of these modules
# (routes, templates, time intervals) and runs no engine (~15 ms of start-up), and only
# the daemon and `logwatch silence` use the SQLite stores (~6 ms, sqlite3 with them).
_LAZY = {
    "COOLDOWN": "logwatch.rules.engine",
    "DROPPED": "logwatch.rules.engine",
    "GROUPED": "logwatch.rules.engine",
    "NO_ROUTE": "logwatch.rules.engine",
    "SEEN_BEFORE": "logwatch.rules.engine",
    "SILENCED": "logwatch.rules.engine",
    "THRESHOLD": "logwatch.rules.engine",
    "CooldownGrowthSpec": "logwatch.rules.engine",
    "Decision": "logwatch.rules.engine",
    "RuleEngine": "logwatch.rules.engine",
    "RuleSpec": "logwatch.rules.engine",
    "ThresholdSpec": "logwatch.rules.engine",
    "LEVEL_RANKS": "logwatch.rules.match",
    "MatchSpec": "logwatch.rules.match",
    "Matcher": "logwatch.rules.match",
    "level_rank": "logwatch.rules.match",
    "Redactor": "logwatch.rules.redact",
    "Destination": "logwatch.rules.routes",
    "RouteSpec": "logwatch.rules.routes",
    "Router": "logwatch.rules.routes",
    "parse_matcher": "logwatch.rules.routes",
    "SilenceStore": "logwatch.rules.silence_store",
    "AnySilencer": "logwatch.rules.silences",
    "LabelMatcher": "logwatch.rules.silences",
    "Silence": "logwatch.rules.silences",
    "SilenceSet": "logwatch.rules.silences",
    "Silencer": "logwatch.rules.silences",
    "alert_labels": "logwatch.rules.silences",
    "SqliteRuleState": "logwatch.rules.sqlite",
    "FingerprintState": "logwatch.rules.state",
    "GroupState": "logwatch.rules.state",
    "MemoryRuleState": "logwatch.rules.state",
    "RuleState": "logwatch.rules.state",
    "AlertTemplate": "logwatch.rules.templates",
    "TemplateSpec": "logwatch.rules.templates",
    "compile_template": "logwatch.rules.templates",
    "MuteTimes": "logwatch.rules.timeintervals",
    "TimeInterval": "logwatch.rules.timeintervals",
}


__getattr__, __dir__ = lazy_names(globals(), _LAZY)
