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

from logwatch.multiline.assembler import Assembler, Format
from logwatch.multiline.fingerprint import fingerprint, fingerprint_record
from logwatch.multiline.tracebacks import parse_traceback

__all__ = ["Assembler", "Format", "fingerprint", "fingerprint_record", "parse_traceback"]
