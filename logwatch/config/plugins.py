"""Config -> NotifierConfig: each notifier's options validated by its plugin's own model."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from pydantic import ValidationError

from logwatch.config.models import NotifierConfig, RateConfig, TemplateConfig
from logwatch.config.problems import Loc, ProblemLog, format_loc, suggest
from logwatch.notifiers import registry
from logwatch.notifiers.base import NotifierFactory, NotifierOptions

# logwatch's own keys in a notifier's entry, not the plugin's options
OWN_KEYS = ("template", "rate")


def build_notifiers(
    raw: object,
    log: ProblemLog,
    context: Mapping[str, Any],
    unchecked: Collection[str] = (),
) -> dict[str, NotifierConfig]:
    """Validate the ``notifiers:`` mapping; report problems and return the valid entries.

    The options of the notifiers named in ``unchecked`` are not validated (they
    name variables this process lacks, and it sends nothing): their type,
    ``template`` and ``rate`` are, and their options are left empty.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        log.at_value(("notifiers",), "notifiers: must map each name to {type: ..., options}")
        return {}
    available = sorted(registry.available())
    choices = ", ".join(available) or "none installed"
    built: dict[str, NotifierConfig] = {}
    for name, entry in raw.items():
        loc = ("notifiers", name)
        if not isinstance(entry, dict):
            log.at_value(loc, f"{format_loc(loc)}: must be a mapping like {{type: console}}")
            continue
        type_name = entry.get("type")
        if type_name is None:
            log.add(
                log.positions.value(loc),
                f"missing key 'type' in {format_loc(loc)}; available: {choices}",
            )
            continue
        if not isinstance(type_name, str) or type_name not in available:
            hint = suggest(str(type_name), available)
            listing = f"{hint} available: {choices}" if hint else f"; available: {choices}"
            log.at_value((*loc, "type"), f"unknown notifier type {type_name!r}{listing}")
            continue
        try:
            factory = registry.load(type_name)
            options_model = factory.Options
        except (ImportError, AttributeError) as exc:
            log.at_value((*loc, "type"), f"cannot load notifier type {type_name!r}: {exc}")
            continue
        # `template` and `rate` are logwatch's, not the plugin's: every notifier takes them.
        options_entry = {key: value for key, value in entry.items() if key not in OWN_KEYS}
        template = _template(entry.get("template"), loc, log)
        rate = _rate(entry, factory, loc, log)
        if name in unchecked:
            options = NotifierOptions(type=type_name)
        else:
            try:
                options = options_model.model_validate(options_entry, context=context)
            except ValidationError as exc:
                log.add_validation_error(exc, options_model, loc)
                continue
        built[name] = NotifierConfig(
            name=name, type=type_name, options=options, template=template, rate=rate
        )
    return built


def _rate(
    entry: Mapping[str, Any], factory: NotifierFactory, loc: tuple[str, ...], log: ProblemLog
) -> tuple[RateConfig, ...]:
    """``rate: {per: 1m, count: 20}``, a list of such limits, or ``false`` for none.

    Without the key, the plugin's declared ``rate_limits`` (its provider's
    documented limits) apply.
    """
    raw = entry.get("rate")
    if raw is None:
        declared = getattr(factory, "rate_limits", ())
        return tuple(RateConfig(count=limit.count, per=limit.per_s) for limit in declared)
    if raw is False:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    limits: list[RateConfig] = []
    for index, item in enumerate(items):
        at: Loc = (*loc, "rate", index) if isinstance(raw, list) else (*loc, "rate")
        try:
            limits.append(RateConfig.model_validate(item))
        except ValidationError as exc:
            log.add_validation_error(exc, RateConfig, at)
    return tuple(limits)


def _template(raw: object, loc: tuple[str, ...], log: ProblemLog) -> TemplateConfig | None:
    if raw is None:
        return None
    try:
        return TemplateConfig.model_validate(raw)
    except ValidationError as exc:
        log.add_validation_error(exc, TemplateConfig, (*loc, "template"))
        return None
