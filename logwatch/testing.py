"""Helpers for testing logwatch and its notifier plugins, without network or daemon.

sample_alert()             a realistic Alert; override any field
RecordingNotifier          remembers what it was sent; can be told to fail
check_notifier_contract()  the checks every HTTP notifier plugin must pass
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from logwatch.errors import DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers.base import Notifier, NotifierFactory, NotifierOptions, Receipt

# The contract check's machinery (asyncio, httpx, http.server) is imported when it
# runs: the command line uses sample_alert() alone, e.g. for `logwatch silence add`.
if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    import httpx

__all__ = [
    "RecordedRequest",
    "RecordingNotifier",
    "check_notifier_contract",
    "check_notifier_contract_async",
    "sample_alert",
]

SAMPLE_TEXT = """\
2026-01-01 12:00:00,123 ERROR app.db query failed
Traceback (most recent call last):
  File "/srv/shop/app/db.py", line 88, in query
    conn = self.pool.connect()
  File "/srv/shop/app/pool.py", line 41, in connect
    raise OperationalError("could not connect")
sqlalchemy.exc.OperationalError: could not connect"""


def sample_alert(**overrides: Any) -> Alert:
    """A firing alert for a database traceback; keyword arguments replace fields."""
    alert = Alert(
        id="0f3c9a1e5b7d4c2a",
        status=AlertStatus.FIRING,
        rule="db-down",
        severity=Severity.CRITICAL,
        title="OperationalError: could not connect",
        host="web-1",
        source="web",
        file="/var/log/shop/app.log",
        first_line=12,
        last_line=18,
        exc_type="sqlalchemy.exc.OperationalError",
        exc_message="could not connect",
        fingerprint="9c1e4f7a2b3d5e6f",
        count=1,
        first_seen=datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC),
        last_seen=datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC),
        labels={"service": "shop", "environment": "production"},
        text=SAMPLE_TEXT,
        level="ERROR",
        logger="app.db",
        message="query failed",
    )
    return dataclasses.replace(alert, **overrides)


class RecordingOptions(NotifierOptions):
    type: str = "recording"


class RecordingNotifier:
    """A notifier that keeps what it is sent in ``sent``, for pipeline tests.

    ``fail_next`` makes the next sends raise instead, the way a provider
    outage (retryable) or a rejected payload (permanent) would.
    """

    Options: ClassVar[type[NotifierOptions]] = RecordingOptions

    def __init__(
        self,
        name: str = "recording",
        options: RecordingOptions | None = None,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.sent: list[Alert] = []  # delivered, in order
        self.attempts: list[Alert] = []  # every call to send, failed ones included
        self.closed = False
        self._failures: deque[DeliveryError] = deque()

    def fail_next(
        self, count: int = 1, *, permanent: bool = False, retry_after_s: float | None = None
    ) -> None:
        """Make the next ``count`` sends raise a retryable (default) or permanent error."""
        for _ in range(count):
            error: DeliveryError
            if permanent:
                error = PermanentDeliveryError(f"{self.name}: told to fail permanently")
            else:
                error = RetryableDeliveryError(
                    f"{self.name}: told to fail", retry_after_s=retry_after_s
                )
            self._failures.append(error)

    async def send(self, alert: Alert) -> Receipt:
        self.attempts.append(alert)
        if self._failures:
            raise self._failures.popleft()
        self.sent.append(alert)
        return Receipt(status=None, detail=f"recorded #{len(self.sent)}")

    async def aclose(self) -> None:
        self.closed = True


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the contract check's local server received it."""

    method: str
    target: str  # path and query, as sent
    headers: Mapping[str, str]
    body: bytes


def check_notifier_contract(
    factory: NotifierFactory,
    options: Mapping[str, Any],
    url: str,
    *,
    ok_status: int = 200,
    ok_body: str = "ok",
) -> list[RecordedRequest]:
    """Run the notifier contract against a local server; AssertionError names a breach.

    ``options`` is the notifier's config mapping as in YAML (``type`` may be
    left out). ``url`` is a realistic endpoint, e.g. ``https://hooks.example.com/
    services/T0/B0/secret``: its scheme and host are replaced by a server on
    127.0.0.1 that answers ``ok_status``/``ok_body``, then 503, 429 with
    ``Retry-After: 7`` and 400; then the port is closed. The check requires:

    - the notifier is built as ``factory(name, Options(...), client=...)``;
    - ``send`` returns a Receipt on success and sends one request per call
      (retries are the outbox's job), to the configured path;
    - 503 and 429 raise RetryableDeliveryError, 429 with ``retry_after_s == 7``;
      400 raises PermanentDeliveryError; a refused connection is retryable;
    - the URL's path and query (where webhook tokens live) appear in no error,
      receipt or options repr.

    Returns the requests received, for assertions about the wire format.
    Use ``check_notifier_contract_async`` from inside a running event loop.
    """
    import asyncio

    return asyncio.run(
        check_notifier_contract_async(factory, options, url, ok_status=ok_status, ok_body=ok_body)
    )


async def check_notifier_contract_async(
    factory: NotifierFactory,
    options: Mapping[str, Any],
    url: str,
    *,
    ok_status: int = 200,
    ok_body: str = "ok",
) -> list[RecordedRequest]:
    """The coroutine behind ``check_notifier_contract``."""
    import httpx

    _expect(
        isinstance(factory.Options, type) and issubclass(factory.Options, NotifierOptions),
        "the notifier's Options must subclass logwatch.notifiers.base.NotifierOptions",
    )
    endpoint = httpx.URL(url)
    secret = endpoint.raw_path.decode("ascii")
    alert = sample_alert()
    with _ScriptedServer() as server:
        async with httpx.AsyncClient() as client:
            notifier = _build(factory, options, endpoint, server.port, client, secret)
            for status, body, headers, expected, cause in (
                (ok_status, ok_body, {}, Receipt, f"a {ok_status} reply"),
                (503, "unavailable", {}, RetryableDeliveryError, "a 503 reply"),
                (429, "slow down", {"Retry-After": "7"}, RetryableDeliveryError, "a 429 reply"),
                (400, "bad request", {}, PermanentDeliveryError, "a 400 reply"),
            ):
                server.script(status, body, headers)
                outcome = await _attempt(notifier, alert)
                server.expect_one_request(endpoint.path)
                _expect_outcome(outcome, expected, cause, secret)
                if status == 429:
                    _expect(
                        getattr(outcome, "retry_after_s", None) == 7.0,
                        "a 429 reply with Retry-After: 7 must set retry_after_s=7.0",
                    )
            await notifier.aclose()

            with _refused_port() as port:
                notifier = _build(factory, options, endpoint, port, client, secret)
                outcome = await _attempt(notifier, alert)
                _expect_outcome(outcome, RetryableDeliveryError, "a refused connection", secret)
                await notifier.aclose()
    return server.requests


def _build(
    factory: NotifierFactory,
    options: Mapping[str, Any],
    endpoint: httpx.URL,
    port: int,
    client: httpx.AsyncClient,
    secret: str,
) -> Notifier:
    local = endpoint.copy_with(scheme="http", host="127.0.0.1", port=port)
    parsed = factory.Options.model_validate({"type": "contract", **options, "url": str(local)})
    _expect_no_leak(repr(parsed), secret, "repr() of the options (hide url with repr=False)")
    notifier = factory("contract", parsed, client=client)
    _expect(notifier.name == "contract", "the notifier must keep the name it was given")
    return notifier


async def _attempt(notifier: Notifier, alert: Alert) -> Receipt | Exception:
    try:
        return await notifier.send(alert)
    except Exception as exc:  # noqa: BLE001
        # any exception is an outcome to judge, not a crash of the check
        return exc


def _expect_outcome(
    outcome: Receipt | Exception,
    expected: type[Receipt] | type[DeliveryError],
    cause: str,
    secret: str,
) -> None:
    verb = "return" if expected is Receipt else "raise"
    if not isinstance(outcome, expected):
        got = f"{type(outcome).__name__}: {outcome}" if isinstance(outcome, Exception) else outcome
        raise AssertionError(f"{cause} must {verb} {expected.__name__}, not {got!s}")
    text = outcome.detail if isinstance(outcome, Receipt) else str(outcome)
    _expect_no_leak(text, secret, f"the {'receipt' if verb == 'return' else 'error'} for {cause}")


def _expect_no_leak(text: str, secret: str, where: str) -> None:
    if len(secret) > 1:  # "/" alone is no secret
        _expect(secret not in text, f"{where} shows the url's secret path: {text!r}")


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


@contextmanager
def _refused_port() -> Iterator[int]:
    """A local port that refuses connections: bound, so nobody else takes it, never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


class _ScriptedServer:
    """An HTTP server on 127.0.0.1 that answers each request with the next scripted reply."""

    def __init__(self) -> None:
        from http.server import ThreadingHTTPServer

        self.requests: list[RecordedRequest] = []
        self._replies: deque[tuple[int, str, Mapping[str, str]]] = deque()
        self._seen = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # a short poll keeps shutdown quick; serve_forever checks for it between polls
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def script(self, status: int, body: str, headers: Mapping[str, str] | None = None) -> None:
        self._replies.append((status, body, headers or {}))

    def expect_one_request(self, path: str) -> None:
        """The last send made exactly one request, to ``path`` or below it."""
        new = self.requests[self._seen :]
        self._seen = len(self.requests)
        _expect(
            len(new) == 1,
            f"one send must make exactly one request, it made {len(new)}"
            " (the outbox retries; a notifier must not)",
        )
        _expect(
            new[0].target.startswith(path.rstrip("/")),
            "the request must go to the path of the configured url",
        )

    def __enter__(self) -> _ScriptedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        from http.server import BaseHTTPRequestHandler

        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as providers do

            def _answer(self) -> None:
                body = self._read_body()
                server.requests.append(
                    RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
                )
                status, text, headers = (
                    server._replies.popleft() if server._replies else (500, "unscripted", {})
                )
                payload = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            # http.server dispatches on these names
            def do_POST(self) -> None:
                self._answer()

            def do_PUT(self) -> None:
                self._answer()

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: a test's output is for its own failures."""

        return Handler
