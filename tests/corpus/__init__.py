"""The traceback corpus: real CPython 3.8-3.13 output with the truth recorded as it was written.

    gen.generate(outdir) -> Corpus        run every scenario under every CPython found
    Corpus.load(outdir) -> Corpus         read one written by ``python -m tests.corpus.gen OUTDIR``
    score.score(corpus, assemble) -> Score   compare a parser's events with the truth

Truth policy (what the parser is scored against):

* Only exception events are listed. Plain records, warnings, ``print_stack``
  output, stack_info records without an exception and faulthandler dumps are
  in the logs so that reporting a traceback there counts as spurious.
* An event spans from its first header line through the end of what was
  written with it: a ``logging`` record from its header line (JSON records
  are one line); a bare traceback from its ``Traceback`` line, or the
  ``File`` line of a bare SyntaxError block. Header lines CPython itself
  prints belong to the event ("Exception in thread NAME:", "Exception ignored
  in: ...", "Error in atexit._run_exitfuncs:", "Process Process-1:",
  "--- Logging error ---"), and so do trailers written in the same burst:
  notes, the "Stack (most recent call last):" block of ``stack_info=True``,
  the "Call stack:"/"Message:"/"Arguments:" lines of a logging error.
* ``exc_type``/``exc_message`` are what the final exception line shows, which
  depends on the printer and the version (e.g. the C printer of 3.8-3.10
  writes ``__main__.MyError``; 3.8's writes the class name without its
  enclosing class); ``scenarios/_recorder.py`` holds these rules.
"""

# gen and score are not imported here: each also runs as ``python -m tests.corpus.<module>``.
from tests.corpus.interpreters import Interpreter, find_interpreters, shortage
from tests.corpus.truth import Case, Corpus, ExpectedEvent, Skipped

__all__ = [
    "Case",
    "Corpus",
    "ExpectedEvent",
    "Interpreter",
    "Skipped",
    "find_interpreters",
    "shortage",
]
