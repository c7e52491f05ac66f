"""Write examples/grading.log (or the path given): a shop's morning log, for `logwatch replay`.

Records are written by the real `logging` module at fixed times (so a replay
always shows the same thing): warnings, errors, one critical outage, a storm
of one traceback repeated, a burst of different errors, and a secret that
must not leave the host.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

LOG = Path(__file__).with_name("grading.log")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROBLEMS = [
    f"{service} unreachable"
    for service in ("inventory", "search", "mailer", "tax", "shipping", "images", "reviews",
                    "ledger", "fraud check", "coupons", "wishlist", "recommender")
]


class _FixedClock(logging.Formatter):
    """Stamp each record with the time the script says, not the wall clock."""

    now = START

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return self.now.strftime("%Y-%m-%d %H:%M:%S,") + f"{self.now.microsecond // 1000:03d}"


def charge(order: int) -> None:
    raise ValueError(f"card declined for order {order}")


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else LOG
    handler = logging.FileHandler(target, mode="w", encoding="utf-8")
    clock = _FixedClock("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(clock)
    log = logging.getLogger("shop.billing")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    def at(seconds: float) -> None:
        clock.now = START + timedelta(seconds=seconds)

    at(0)
    log.info("service started")
    at(5)
    log.warning("payment provider slow: 2.3s")
    at(10)
    log.error("refund failed for customer=4711 with password=hunter2")
    for index in range(50):  # one bug, over and over: one alert, then a count
        at(20 + index * 0.1)
        try:
            charge(1000 + index)
        except ValueError:
            log.exception("payment failed for order %d", 1000 + index)
    for index, what in enumerate(PROBLEMS):  # different errors in a second: one digest
        at(40 + index * 0.05)
        log.error("%s", what)
    at(60)
    log.critical("database unreachable: postgres://shop:s3cr3t@db:5432/shop")
    handler.close()
    sys.stdout.write(f"wrote {target}\n")


if __name__ == "__main__":
    main()
