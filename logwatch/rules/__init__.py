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
