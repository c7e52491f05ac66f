"""Scenario scripts of the traceback corpus, run under every CPython 3.8-3.13.

Each module is one scenario: ``main(rec)`` writes a log the way a real
application would and records the truth through ``_recorder.Recorder``;
``CHILDREN`` names functions run in a child process (for output that only a
dying process produces). These files run on 3.8, so they keep to 3.8 syntax.
"""
