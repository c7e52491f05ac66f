"""Config -> NotifierConfig: each notifier's options validated by its plugin's own model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from logwatch.config.models import NotifierConfig, TemplateConfig
from logwatch.config.problems import ProblemLog, format_loc, suggest
from logwatch.notifiers import registry


def build_notifiers(
    raw: object, log: ProblemLog, context: Mapping[str, Any]
) -> dict[str, NotifierConfig]:
    """Validate the ``notifiers:`` mapping; report problems and return the valid entries."""
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
            options_model = registry.load(type_name).Options
        except (ImportError, AttributeError) as exc:
            log.at_value((*loc, "type"), f"cannot load notifier type {type_name!r}: {exc}")
            continue
        # `template` is logwatch's, not the plugin's: every notifier takes one.
        options_entry = {key: value for key, value in entry.items() if key != "template"}
        template = _template(entry.get("template"), loc, log)
        try:
            options = options_model.model_validate(options_entry, context=context)
        except ValidationError as exc:
            log.add_validation_error(exc, options_model, loc)
            continue
        built[name] = NotifierConfig(
            name=name, type=type_name, options=options, template=template
        )
    return built


def _template(raw: object, loc: tuple[str, ...], log: ProblemLog) -> TemplateConfig | None:
    if raw is None:
        return None
    try:
        return TemplateConfig.model_validate(raw)
    except ValidationError as exc:
        log.add_validation_error(exc, TemplateConfig, (*loc, "template"))
        return None
