"""s33: warnings: "path:4: UserWarning: ..." and its source line; no exception event."""

from __future__ import annotations

import logging
import warnings

from ._recorder import Recorder


def old() -> None:
    warnings.warn("old() is deprecated, use new()", DeprecationWarning, stacklevel=2)


def main(rec: Recorder) -> None:
    rec.start_logging()
    warnings.simplefilter("always")
    rec.noise()
    warnings.warn("cache size 0 disables caching", UserWarning, stacklevel=1)
    rec.noise()
    old()
    rec.noise()
    logging.captureWarnings(True)  # the same warning, now as a py.warnings record
    old()
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
