"""A small stage for one fault: the real daemon, a webhook, and records by order number."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.daemon_harness import Receiver, wait_for
from tests.faults.tools import Deliveries, outbox_pending


class CardDeclinedError(ValueError):
    pass


def log_records(path: Path, *orders: int) -> None:
    """Append one real ``logger.exception`` record per order, as a short-lived process would:
    the file is opened in append mode for these records and closed after them."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger(f"shop.scene.{path}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for order in orders:
            try:
                raise CardDeclinedError(f"card declined for order {order}")
            except CardDeclinedError:
                logger.exception("payment failed for order %d", order)
    finally:
        logger.removeHandler(handler)
        handler.close()


class Scene:
    """A config watching ``globs`` with one traceback rule to a webhook that records alerts."""

    def __init__(self, tmp_path: Path, httpserver: HTTPServer, globs: Sequence[str]) -> None:
        self.receiver = Receiver()
        httpserver.expect_request("/alerts", method="POST").respond_with_handler(
            self.receiver.handle
        )
        self.config = tmp_path / "logwatch.yaml"
        self.state_dir = tmp_path / "state"
        paths = ", ".join(f'"{glob}"' for glob in globs)
        self.config.write_text(
            f"""
state_dir: {self.state_dir}
host: scene
sources:
  - name: shop
    paths: [{paths}]
    exclude: ["*.gz"]
rules:
  - name: tracebacks
    match: {{traceback: true}}
    severity: error
    notify: [hook]
notifiers:
  hook: {{type: webhook, url: "{httpserver.url_for("/alerts")}"}}
delivery: {{initial_backoff: 100ms, max_backoff: 500ms, timeout: 2s}}
""",
            encoding="utf-8",
        )

    def deliveries(self) -> Deliveries:
        with self.receiver.lock:
            return Deliveries.of(list(self.receiver.bodies))

    def alerts(self) -> Counter[int]:
        """How many POSTs each order number got."""
        return self.deliveries().counts()

    def bodies(self, order: int) -> list[dict[str, object]]:
        with self.receiver.lock:
            return [
                body for body in self.receiver.bodies
                if body.get("exc_message") == f"card declined for order {order}"
            ]

    def wait_alerted(self, *orders: int, timeout_s: float = 15.0) -> None:
        """Wait until every order in ``orders`` has been alerted, then until nothing is queued.

        The daemon commits what one read produces together, so once the alerts
        expected from a read have arrived and the outbox is empty, an alert that
        a wrong re-read would have added has arrived too.
        """
        wanted = set(orders)
        wait_for(lambda: wanted <= set(self.alerts()), timeout_s, f"alerts for orders {wanted}")
        wait_for(lambda: outbox_pending(self.state_dir) == 0, timeout_s, "an empty outbox")
