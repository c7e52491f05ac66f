"""Rules stage, wording: operator templates for an alert's title, body and labels.

Templates are Jinja2, compiled once in a ``SandboxedEnvironment`` with
``StrictUndefined``: a misspelt variable is an error, not an empty string,
and a template cannot reach Python internals. Log text only ever enters as
the *values* of variables, already redacted; it is never template source, so
a log line holding ``{{ ''.__class__ }}`` comes out as those characters.

The variables (see README, "Templates"): every field of the alert's payload
(``title``, ``text``, ``rule``, ``severity``, ``exc_type``, ``count``,
``labels``, ``fields``, ``context``, ...), ``lines`` (the event's lines),
``notifier`` (the name it is rendered for) and, for digests, ``items``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from logwatch.model import Alert
from logwatch.rules.alerts import TITLE_MAX

if TYPE_CHECKING:  # jinja2 is imported on the first template compiled, not before
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment


@functools.cache
def _env() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    # Notifiers escape for their medium (Slack mrkdwn, HTML mail), so templates
    # produce plain text and never autoescape.
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )


class TemplateSpec(Protocol):
    """A `template:` block of a rule or a notifier, as the config package provides it."""

    @property
    def title(self) -> str | None: ...
    @property
    def body(self) -> str | None: ...


def compile_template(source: str) -> Template:
    """Compile one template; raise ValueError naming the line of a syntax error."""
    from jinja2 import TemplateSyntaxError

    try:
        return _env().from_string(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error on line {exc.lineno}: {exc.message}") from exc


@dataclass(frozen=True, slots=True)
class AlertTemplate:
    """A compiled title and/or body; an absent one keeps the built-in wording."""

    title: Template | None = None
    body: Template | None = None

    @classmethod
    def compile(cls, *specs: TemplateSpec | None) -> AlertTemplate | None:
        """Merge the specs, the first that sets a part winning (rule before notifier)."""
        title = next((s.title for s in specs if s is not None and s.title is not None), None)
        body = next((s.body for s in specs if s is not None and s.body is not None), None)
        if title is None and body is None:
            return None
        return cls(
            compile_template(title) if title is not None else None,
            compile_template(body) if body is not None else None,
        )


def context(
    alert: Alert, notifier: str = "", items: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The variables a template sees: the alert's (redacted) payload and a few helpers."""
    variables = alert.payload()
    variables.setdefault("fields", {})
    variables.setdefault("context", [])
    variables["lines"] = alert.text.split("\n") if alert.text else []
    variables["notifier"] = notifier
    variables["items"] = list(items)
    return variables


def render(
    template: AlertTemplate,
    alert: Alert,
    notifier: str,
    items: Sequence[Mapping[str, Any]] = (),
) -> Alert:
    """The alert as ``notifier`` should word it.

    A template that fails at render time (a variable this alert lacks) must
    not cost the alert: the built-in wording is kept and the error is put at
    the top of the body, where the operator sees it.
    """
    from jinja2 import TemplateError  # loaded already: ``template`` was compiled

    variables = context(alert, notifier, items)
    changes: dict[str, Any] = {}
    try:
        if template.title is not None:
            changes["title"] = _one_line(template.title.render(variables))
        if template.body is not None:
            changes["text"] = template.body.render(variables)
    except TemplateError as exc:
        note = f"[logwatch: template of rule {alert.rule!r} failed: {exc}]"
        return dataclasses.replace(alert, text=f"{note}\n{alert.text}")
    return dataclasses.replace(alert, **changes)


def render_label(template: Template, variables: Mapping[str, Any]) -> str:
    """A label value; a variable this event lacks gives an empty label, not an error."""
    from jinja2 import TemplateError  # loaded already: ``template`` was compiled

    try:
        return _one_line(template.render(variables))
    except TemplateError:
        return ""


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_MAX else line[: TITLE_MAX - 1] + "…"
