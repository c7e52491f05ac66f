"""A JSON log line -> its value, every string in it one that can be written as UTF-8.

JSON may escape half of a surrogate pair with nothing to pair it (``"\\ud800"``);
``json.loads`` keeps it as a lone surrogate, which no UTF-8 encoder takes: an
alert holding one failed every notifier's request on every retry, and replay's
print. Such a character is read as U+FFFD, as the framer reads bytes it cannot
decode.
"""

from __future__ import annotations

import json
import re
from typing import Any

# the escape of a surrogate's code unit; json.loads has made a pair of them one character
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def loads(text: str) -> Any:
    """``json.loads``, with each lone surrogate in a string or a key read as U+FFFD."""
    value = json.loads(text)
    if _SURROGATE_ESCAPE.search(text) is None:  # the usual line: nothing to look at
        return value
    return _mended(value)


def _mended(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_mended(key): _mended(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mended(item) for item in value]
    return value
