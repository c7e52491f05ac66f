"""s31: a bad format string: "--- Logging error ---" ... "Arguments: (...)" on stderr.

The event is the whole block: the header line, the traceback of the formatting
error, its "Call stack:" and the "Message:"/"Arguments:" trailer.
"""

from __future__ import annotations

import logging

from ._recorder import Recorder


def formatting_error(template: str, *args: object) -> TypeError:
    try:
        template % args  # the same operation logging will attempt
    except TypeError as exc:
        return exc
    raise AssertionError(f"{template!r} % {args!r} formatted")


def main(rec: Recorder) -> None:
    rec.start_logging()
    log = logging.getLogger("app.metrics")
    rec.noise()
    with rec.expect(formatting_error("value is %d", "not-a-number"), "--- Logging error ---"):
        log.info("value is %d", "not-a-number")
    rec.noise()
    with rec.expect(formatting_error("%s items", 1, 2), "--- Logging error --- (extra argument)"):
        log.warning("%s items", 1, 2)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
