"""Config -> RuleEngine: the one place that compiles the rules part of a config.

The daemon and ``logwatch replay`` / ``logwatch test`` build their engines
here, so that what replay shows is what the daemon would do.
"""

from __future__ import annotations

from collections.abc import Sequence

from logwatch.config import Config
from logwatch.rules import (
    AnySilencer,
    MuteTimes,
    Redactor,
    Router,
    RuleEngine,
    RuleState,
    Silencer,
    TimeInterval,
)


def build_engine(
    config: Config, *, state: RuleState | None = None, silences: Silencer | None = None
) -> RuleEngine:
    """The rule engine for ``config``; ``state`` and ``silences`` outlive reloads."""
    intervals = {
        name: tuple(spec.interval() for spec in specs)
        for name, specs in config.time_intervals.items()
    }

    def named(names: Sequence[str]) -> list[TimeInterval]:
        return [interval for name in names for interval in intervals[name]]

    mute_times = MuteTimes(
        {rule.name: named(rule.mute_during) for rule in config.rules},
        {rule.name: named(rule.active_during) for rule in config.rules},
    )
    silencers: list[Silencer] = [] if silences is None else [silences]
    if not mute_times.idle:
        silencers.append(mute_times)
    # Asked for every alert: no silencer to ask where none could mute (replay, most
    # configs), and no wrapper around one alone.
    silencer: Silencer | None = None
    if len(silencers) == 1:
        silencer = silencers[0]
    elif silencers:
        silencer = AnySilencer(*silencers)
    return RuleEngine(
        config.rules,
        host=config.host,
        labels=config.labels,
        state=state,
        redactor=Redactor(config.redact.patterns, defaults=config.redact.defaults),
        silencer=silencer,
        router=Router(config.routes, intervals),
        notifier_templates={
            name: notifier.template
            for name, notifier in config.notifiers.items()
            if notifier.template is not None
        },
        source_context={source.name: source.context_lines for source in config.sources},
    )
