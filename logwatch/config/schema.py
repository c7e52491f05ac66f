"""Config -> JSON Schema, for editors (`logwatch schema`)."""

from __future__ import annotations

from typing import Any

from logwatch.config.models import Config, NotifierConfig
from logwatch.notifiers import registry
from logwatch.notifiers.base import NotifierOptions

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the YAML config, with each installed notifier's options."""
    schema = Config.model_json_schema(by_alias=True, mode="validation")
    definitions: dict[str, Any] = schema.setdefault("$defs", {})
    # In YAML a notifier is {type: ..., **options}, not the NotifierConfig it becomes.
    for model in (NotifierConfig, NotifierOptions):
        definitions.pop(model.__name__, None)
    variants = [
        {"$ref": f"#/$defs/{_notifier_schema(type_name, definitions)}"}
        for type_name in sorted(registry.available())
    ]
    schema["properties"]["notifiers"] = {
        "type": "object",
        "description": "notifiers by name; rules refer to them in `notify`",
        "additionalProperties": {"anyOf": variants} if variants else {"type": "object"},
    }
    return {"$schema": DIALECT, **schema}


def _notifier_schema(type_name: str, definitions: dict[str, Any]) -> str:
    """Add the schema of notifier ``type_name`` to ``definitions``; return its name there."""
    key = f"notifier-{type_name}"
    try:
        options = registry.load(type_name).Options
    except (ImportError, AttributeError):
        # Still offer the type name; its options cannot be described.
        definitions[key] = {
            "type": "object",
            "properties": {"type": {"const": type_name}},
            "required": ["type"],
        }
        return key
    sub = options.model_json_schema(by_alias=True, mode="validation")
    definitions.update(sub.pop("$defs", {}))
    sub.setdefault("properties", {})["type"] = {"const": type_name}
    # Every notifier also takes logwatch's own `template` (title/body) and `rate`.
    sub["properties"]["template"] = {"$ref": "#/$defs/TemplateConfig"}
    sub["properties"]["rate"] = {
        "description": "at most `count` sends per `per`; a list for several limits; false: none",
        "anyOf": [
            {"$ref": "#/$defs/RateConfig"},
            {"type": "array", "items": {"$ref": "#/$defs/RateConfig"}},
            {"const": False},
        ],
    }
    definitions[key] = sub
    return key
