"""Package names imported on first use: a package's ``__getattr__`` and ``__dir__``.

For packages whose public names live in modules some commands never run
(``logwatch check`` validates rules and runs no engine): importing the
package must not import them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    namespace: dict[str, Any], modules: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package: ``modules`` maps a name to its module."""

    def getattr_(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            # also how `from package import submodule` finds a submodule not loaded yet
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups find it without calling __getattr__
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *namespace["__all__"]})

    return getattr_, dir_
