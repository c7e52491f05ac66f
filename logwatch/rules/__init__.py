"""Rules stage: Event -> Decision (an Alert to send, or why not).

    Event ──Matcher──> first matching rule (more with `continue`)
          ──drop──────────────────────────────> Decision(suppressed="dropped-by-rule")
          ──threshold window (RuleState)──────> Decision(suppressed="threshold")
          ──Silencer──────────────────────────> Decision(suppressed="silenced")
          ──cooldown (RuleState)──────────────> Decision(suppressed="cooldown")
          ──Redactor──> Alert ────────────────> Decision(alert=...)
    tick(now) ──> cooldown summaries, `resolved` notices

The engine is pure: no files, no clock, no threads. ``now`` comes from the
caller; what must outlive a restart lives behind ``RuleState``.
"""

from logwatch.rules.engine import (
    COOLDOWN,
    DROPPED,
    NO_ROUTE,
    SILENCED,
    THRESHOLD,
    Decision,
    RuleEngine,
    RuleSpec,
    ThresholdSpec,
)
from logwatch.rules.match import LEVEL_RANKS, Matcher, MatchSpec, level_rank
from logwatch.rules.redact import Redactor
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
from logwatch.rules.state import GroupState, MemoryRuleState, RuleState
from logwatch.rules.timeintervals import MuteTimes, TimeInterval

__all__ = [
    "COOLDOWN",
    "DROPPED",
    "LEVEL_RANKS",
    "NO_ROUTE",
    "SILENCED",
    "THRESHOLD",
    "AnySilencer",
    "Decision",
    "GroupState",
    "LabelMatcher",
    "MatchSpec",
    "Matcher",
    "MemoryRuleState",
    "MuteTimes",
    "Redactor",
    "RuleEngine",
    "RuleSpec",
    "RuleState",
    "Silence",
    "SilenceSet",
    "SilenceStore",
    "Silencer",
    "SqliteRuleState",
    "ThresholdSpec",
    "TimeInterval",
    "alert_labels",
    "level_rank",
]
