"""Lines -> events: Python tracebacks reassembled, parsed and fingerprinted.

    Line ──envelopes──▶ clean text ──kinds──▶ Row ──machine (per stream)──▶ Draft
         Docker/CRI/syslog   ANSI off     lexer          boundaries
                                                                │
    Event ◀──fingerprint── chain ◀──tracebacks (grammar)── Draft rows
                           JSON records: jsonrecords, same grammar

``Assembler`` is the stage the daemon runs per file; ``fingerprint`` is the
grouping key rules use, exported for the rule engine and for tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from logwatch.lazy import lazy_names

# Imported now, not on first use like the rest: the rules import this module anyway,
# and the function, not the submodule, must be what `logwatch.multiline.fingerprint` names.
from logwatch.multiline.fingerprint import fingerprint, fingerprint_record

if TYPE_CHECKING:
    from logwatch.multiline.assembler import Assembler, Format
    from logwatch.multiline.tracebacks import parse_traceback

__all__ = ["Assembler", "Format", "fingerprint", "fingerprint_record", "parse_traceback"]

# Imported on first use: `logwatch check` reaches this package through the rules'
# fingerprint helpers and needs none of the assembler's modules (~9 ms of start-up).
_LAZY = {
    "Assembler": "logwatch.multiline.assembler",
    "Format": "logwatch.multiline.assembler",
    "parse_traceback": "logwatch.multiline.tracebacks",
}

__getattr__, __dir__ = lazy_names(globals(), _LAZY)
