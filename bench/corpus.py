"""Real tracebacks: run failing code once through the real ``logging`` module, keep the text.

The failing code is compiled under made-up file names (``/srv/shop/...``) and
its source is registered with ``linecache``, so the captured tracebacks look
like a deployed application's (source lines, carets) and do not depend on
where this checkout lives.
"""

from __future__ import annotations

import linecache
import logging
from dataclasses import dataclass
from typing import Any

_SHOP = '''\
class PaymentDeclined(Exception):
    pass


class GatewayError(RuntimeError):
    pass


class DatabaseError(Exception):
    pass


def lookup(cache, key):
    return cache[key]


def parse_amount(text):
    return int(text)


def ratio(total, count):
    return total / count


def owner_name(order):
    return order.owner.name


def deep(depth, action):
    if depth <= 0:
        return action()
    return deep(depth - 1, action)


def charge(order_id, amount):
    if amount > 1000:
        raise PaymentDeclined(f"card declined for order {order_id}")
    return amount


def call_gateway(order_id):
    try:
        charge(order_id, 5000)
    except PaymentDeclined as exc:
        raise GatewayError(f"gateway rejected order {order_id}") from exc


def query(sql):
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as exc:
        raise DatabaseError(f"could not connect to database while running {sql!r}") from exc


def save_order(order_id):
    try:
        query(f"INSERT INTO orders VALUES ({order_id})")
    except DatabaseError:
        audit = {}
        audit["order"]["id"] = order_id


def load_config(text):
    import json

    return json.loads(text)


def annotated(order_id):
    try:
        parse_amount(f"{order_id}.50 EUR")
    except ValueError as exc:
        exc.add_note(f"while reading the invoice of order {order_id}")
        raise


def many(order_id):
    errors = []
    for step in ("reserve", "charge", "ship"):
        try:
            if step != "reserve":
                raise TimeoutError(f"{step} timed out after 3000 ms")
        except TimeoutError as exc:
            errors.append(exc)
    raise ExceptionGroup(f"order {order_id} failed", errors)


def multiline_message(order_id):
    raise ValueError(f"invalid order {order_id}:\\n  missing field 'address'\\n  bad zip code")


ACTIONS = [
    ("cache miss for session", lambda n: lookup({}, f"session-{n}")),
    ("bad amount in request", lambda n: parse_amount(f"{n}x")),
    ("cannot compute average basket", lambda n: ratio(n, 0)),
    ("order has no owner", lambda n: owner_name(None)),
    ("payment failed for order {n}", lambda n: charge(n, 5000)),
    ("gateway call failed for order {n}", call_gateway),
    ("database write failed", save_order),
    ("config reload failed", lambda n: load_config('{"workers": 4,}')),
    ("invoice import failed for order {n}", annotated),
    ("fulfilment failed for order {n}", many),
    ("validation failed", multiline_message),
]


def handle(log, index, n, depth):
    message, action = ACTIONS[index]
    try:
        deep(depth, lambda: action(n))
    except Exception:
        log.exception(message.format(n=n))
'''

_FILES = ("/srv/shop/app/payments.py", "/srv/shop/app/orders.py", "/srv/shop/lib/db.py")


@dataclass(frozen=True, slots=True)
class Sample:
    """One captured failure: the record's message and the traceback text below it."""

    message: str
    traceback: str  # lines joined by "\n", no trailing newline
    exc_type: str


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _modules() -> list[dict[str, Any]]:
    spaces = []
    for filename in _FILES:
        linecache.cache[filename] = (len(_SHOP), None, _SHOP.splitlines(True), filename)
        space: dict[str, Any] = {"__name__": "shop." + filename.rsplit("/", 1)[-1][:-3]}
        exec(compile(_SHOP, filename, "exec"), space)
        spaces.append(space)
    return spaces


def capture(count: int = 48) -> list[Sample]:
    """Run real failing code (chained causes, contexts, notes, groups); keep ``count`` texts."""
    spaces = _modules()
    keep = _Keep()
    log = logging.getLogger("bench.capture")
    log.propagate = False
    log.addHandler(keep)
    formatter = logging.Formatter()
    samples: list[Sample] = []
    try:
        n = 0
        while len(samples) < count:
            mod = spaces[n % len(spaces)]
            for index in range(len(mod["ACTIONS"])):
                mod["handle"](log, index, 1000 + n, n % 5)
                record = keep.records.pop()
                assert record.exc_info is not None
                assert record.exc_info[0] is not None
                text = formatter.formatException(record.exc_info)
                samples.append(Sample(record.getMessage(), text, record.exc_info[0].__name__))
                if len(samples) >= count:
                    break
            n += 1
    finally:
        log.removeHandler(keep)
    return samples

