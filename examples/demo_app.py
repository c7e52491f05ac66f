"""A small app that fails the way real ones do, logging to examples/demo.log.

Run it to append fresh records while `logwatch run -c config.example.yaml` is
watching: `python examples/demo_app.py`.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

LOG = Path(__file__).with_name("demo.log")


class PaymentError(Exception):
    pass


def charge(order: int, amount: str) -> float:
    return round(float(amount) * 1.2, 2)


def load_settings(text: str) -> dict[str, object]:
    return dict(json.loads(text))


def pay(order: int) -> None:
    try:
        charge(order, "12,50")
    except ValueError as exc:
        raise PaymentError(f"card declined for order {order}") from exc


def main() -> None:
    logging.basicConfig(
        filename=LOG,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        level=logging.INFO,
    )
    log = logging.getLogger("shop.checkout")
    log.info("checkout service started")
    log.warning("slow response from inventory: 2.4s")
    try:
        pay(42)
    except PaymentError:
        log.exception("payment failed for order 42")
    log.info("order 43 paid")
    try:
        load_settings("{'currency': 'EUR'}")
    except json.JSONDecodeError:
        logging.getLogger("shop.settings").exception("could not read settings")
    logging.getLogger("shop.db").error("connection pool exhausted (32/32 in use)")
    try:
        raise BrokenPipeError(32, "Broken pipe")
    except BrokenPipeError:
        logging.getLogger("shop.http").exception("client went away")
    log.info("checkout service idle")


if __name__ == "__main__":
    sys.exit(main())
