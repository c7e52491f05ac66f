"""Config text -> values: ``${NAME}`` and ``${NAME:-default}`` in string scalars.

Outside the config package, whose import is what ``headstart`` runs ahead of.

Expansion runs on each string after YAML parsing, so a variable's value is
always one string and can never inject YAML structure. Only the braced form
is special: a lone ``$`` (as in the regex ``failed$``) stays as it is, and
``$$`` is a literal ``$``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(
    r"\$(?:"
    r"(?P<dollar>\$)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"
    r"|(?P<malformed>\{[^}]*\}?)"
    r")"
)


class ExpansionError(ValueError):
    """A string refers to unset variables or uses a malformed reference."""

    def __init__(self, message: str, *, unset_only: bool = False) -> None:
        super().__init__(message)
        self.unset_only = unset_only  # every bad reference names a variable that is not set


def expand(text: str, environ: Mapping[str, str]) -> str:
    """Substitute every reference in ``text``; raise ExpansionError naming all bad ones."""
    unset: list[str] = []
    malformed: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        if match["dollar"]:
            return "$"
        if match["malformed"] is not None:
            malformed.append(match[0])
            return ""
        name, default = match["name"], match["default"]
        value = environ.get(name)
        # Like the shell's ${NAME:-default}: an empty value also takes the default.
        if default is not None and not value:
            return default
        if value is None:
            unset.append(name)
            return ""
        return value

    expanded = _REFERENCE.sub(substitute, text)
    problems = []
    if unset:
        names = [f"${{{name}}}" for name in dict.fromkeys(unset)]
        subject = (
            f"environment variable {names[0]} is"
            if len(names) == 1
            else f"environment variables {', '.join(names)} are"
        )
        problems.append(f"{subject} not set; set it, or give a default with ${{NAME:-default}}")
    if malformed:
        problems.append(
            f"bad variable reference {malformed[0]!r}; "
            "write ${NAME} or ${NAME:-default}, and $$ for a literal $"
        )
    if problems:
        raise ExpansionError("; ".join(problems), unset_only=not malformed)
    return expanded
