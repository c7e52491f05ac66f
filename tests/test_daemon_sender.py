"""The delivery thread at stop and reload: a hanging webhook neither holds up SIGTERM or a
reload nor has a row sent by the old notifiers and the new ones alike."""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from logwatch.daemon.sender import SenderSettings, SenderThread
from logwatch.model import Alert
from logwatch.notifiers.base import Receipt
from logwatch.store import Delivery, Store
from logwatch.testing import sample_alert
from tests.daemon_harness import (
    NotifySocket,
    Receiver,
    running_daemon,
    stop,
    wait_for,
    wait_settled,
)

GRACE_S = 1.0


def record(order: int) -> str:
    return (
        f"2026-01-01 12:00:{order:02d},000 ERROR app.pay payment failed for order {order}\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/app/pay.py", line 10, in charge\n'
        "    raise ValueError(order)\n"
        f"ValueError: card declined for order {order}\n"
    )


@dataclass
class Gate:
    """Holds the first ``hang`` requests until ``release``, then fails them with a 500."""

    receiver: Receiver
    hang: int
    release: threading.Event = field(default_factory=threading.Event)
    held: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request) -> Response:
        with self.lock:
            hold = self.held < self.hang
            self.held += hold
        if not hold:
            return self.receiver.handle(request)
        self.release.wait(30)
        return Response("gave up", status=500)

    def holding(self) -> int:
        with self.lock:
            return self.held


def write_config(tmp_path: Path, url: str, grace: str = "1s") -> Path:
    (tmp_path / "logs").mkdir(exist_ok=True)
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"""
state_dir: {tmp_path / "state"}
host: test-host
sources:
  - name: app
    paths: ["{tmp_path / "logs"}/*.log"]
    start_at: end
rules:
  - name: tracebacks
    match: {{traceback: true}}
    severity: error
    notify: [hook]
notifiers:
  hook: {{type: webhook, url: "{url}"}}
delivery: {{initial_backoff: 100ms, max_backoff: 500ms, timeout: 30s, grace_on_stop: {grace}}}
""",
        encoding="utf-8",
    )
    return config


class TestHangingWebhook:
    def test_sigterm_waits_grace_on_stop_not_the_http_timeout(
        self, tmp_path: Path, server: HTTPServer
    ) -> None:
        """SIGTERM with a POST hanging: the daemon exits 0 once grace_on_stop is over."""
        gate = Gate(Receiver(), hang=1)
        server.expect_request("/alerts", method="POST").respond_with_handler(gate.handle)
        config = write_config(tmp_path, server.url_for("/alerts"))
        log = tmp_path / "logs" / "app.log"
        log.write_text("2026-01-01 12:00:00,000 INFO app started\n", encoding="utf-8")
        try:
            with running_daemon(config, tmp_path) as process:
                with log.open("a", encoding="utf-8") as out:
                    out.write(record(1))
                wait_for(lambda: gate.holding() == 1, 10, "the POST to hang")
                code, took = stop(process)
        finally:
            gate.release.set()
        assert code == 0
        assert took < GRACE_S + 1.0, f"SIGTERM took {took:.1f}s"

    def test_reload_never_runs_two_senders_at_once(
        self, tmp_path: Path, server: HTTPServer
    ) -> None:
        """A SIGHUP while POSTs hang: the old sender's unsent rows are not sent by it as well
        as by the new one, so every alert arrives once."""
        receiver = Receiver()
        gate = Gate(receiver, hang=4)  # as many as one notifier sends at once
        server.expect_request("/alerts", method="POST").respond_with_handler(gate.handle)
        config = write_config(tmp_path, server.url_for("/alerts"))
        log = tmp_path / "logs" / "app.log"
        log.write_text("2026-01-01 12:00:00,000 INFO app started\n", encoding="utf-8")
        notify = NotifySocket(tmp_path / "notify.sock")
        try:
            with running_daemon(config, tmp_path, notify=notify) as process:
                with log.open("a", encoding="utf-8") as out:
                    # one write: one commit, one batch for the sender
                    out.write("".join(record(order) for order in range(8)))
                    out.write("2026-01-01 12:01:00,000 INFO app done\n")
                wait_for(lambda: gate.holding() == 4, 10, "four POSTs to hang")
                process.send_signal(signal.SIGHUP)
                notify.wait_for_count("READY=1", 2)
                wait_for(lambda: receiver.count() >= 8, 10, "the new sender to send all 8")
                gate.release.set()
                # negative check: an old sender still running would now send its
                # last four rows a second time, within milliseconds
                threading.Event().wait(0.5)
                code, _ = stop(process)
        finally:
            gate.release.set()
            notify.close()
        assert code == 0
        ids = receiver.ids()
        assert len(ids) == len(set(ids)) == 8

    def test_reload_during_an_outage_takes_effect_at_once(
        self, tmp_path: Path, server: HTTPServer
    ) -> None:
        """A SIGHUP while POSTs hang does not wait out grace_on_stop (30 s here): the reload
        is done and the next record is read and sent at once; once the endpoint answers,
        the rows that hung are sent, and every alert arrives once."""
        receiver = Receiver()
        gate = Gate(receiver, hang=4)  # as many as one notifier sends at once
        server.expect_request("/alerts", method="POST").respond_with_handler(gate.handle)
        config = write_config(tmp_path, server.url_for("/alerts"), grace="30s")
        log = tmp_path / "logs" / "app.log"
        log.write_text("2026-01-01 12:00:00,000 INFO app started\n", encoding="utf-8")
        notify = NotifySocket(tmp_path / "notify.sock")
        try:
            with running_daemon(config, tmp_path, notify=notify) as process:
                with log.open("a", encoding="utf-8") as out:
                    out.write("".join(record(order) for order in range(4)))
                    out.write("2026-01-01 12:01:00,000 INFO app done\n")
                wait_for(lambda: gate.holding() == 4, 10, "four POSTs to hang")
                process.send_signal(signal.SIGHUP)
                # well inside the 30 s an old sender waited for before the new one started
                notify.wait_for_count("READY=1", 2, timeout_s=10)
                with log.open("a", encoding="utf-8") as out:
                    out.write(record(4))
                    out.write("2026-01-01 12:02:00,000 INFO app done\n")
                wait_for(lambda: receiver.count() >= 1, 10, "the record after the reload")
                assert [body["exc_message"] for body in receiver.bodies] == [
                    "card declined for order 4"
                ]
                gate.release.set()  # the hung POSTs fail; their rows are retried
                wait_for(lambda: receiver.count() == 5, 10, "the rows that hung, sent again")
                wait_settled(tmp_path / "state", log)
                code, _ = stop(process)  # every send has ended once the daemon has exited
        finally:
            gate.release.set()
            notify.close()
        assert code == 0
        ids = receiver.ids()
        assert len(ids) == len(set(ids)) == 5


def test_a_reload_whose_notifiers_cannot_be_built_is_refused(
    tmp_path: Path, server: HTTPServer
) -> None:
    """An email notifier whose ca_file holds no certificate passes validation and fails
    when built. Before, the reload went on: the rules routed alerts to it, the old
    notifiers kept sending, and its alerts were dead-lettered as not configured."""
    receiver = Receiver()
    server.expect_request("/alerts", method="POST").respond_with_handler(receiver.handle)
    config = write_config(tmp_path, server.url_for("/alerts"))
    log = tmp_path / "logs" / "app.log"
    log.write_text("2026-01-01 12:00:00,000 INFO app started\n", encoding="utf-8")
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("no certificate here\n", encoding="utf-8")
    broken = config.read_text(encoding="utf-8").replace("notify: [hook]", "notify: [mail]")
    broken = broken.replace(
        "notifiers:\n",
        "notifiers:\n  mail: {type: email, host: 127.0.0.1, port: 9, from: a@example.com,"
        f" to: [b@example.com], ca_file: '{not_pem}'}}\n",
    )
    notify = NotifySocket(tmp_path / "notify.sock")
    try:
        with running_daemon(config, tmp_path, notify=notify) as process:
            config.write_text(broken, encoding="utf-8")
            process.send_signal(signal.SIGHUP)
            notify.wait_for_count("READY=1", 2)
            with log.open("a", encoding="utf-8") as out:
                out.write(record(1))
            wait_for(lambda: receiver.count() == 1, 10, "the alert, through the old notifier")
            code, _ = stop(process)
    finally:
        notify.close()
    assert code == 0
    stderr = (tmp_path / "daemon.stderr").read_text(encoding="utf-8")
    assert "reload refused, keeping the running config: the notifiers cannot be built:" in stderr
    assert "config reloaded" not in stderr
    assert "Exception in callback" not in stderr


class _Recording:
    """A notifier plugin's shape: records what it is sent; ``broken_close`` raises on close."""

    def __init__(self, name: str, *, broken_close: bool = False) -> None:
        self.name = name
        self.sent: list[str] = []
        self._broken_close = broken_close

    async def send(self, alert: Alert) -> Receipt:
        self.sent.append(alert.id)
        return Receipt(None, "ok")

    async def aclose(self) -> None:
        if self._broken_close:
            raise RuntimeError("plugin bug on close")


def test_a_plugin_that_fails_to_close_at_a_reload_leaves_delivery_running(
    tmp_path: Path,
) -> None:
    """Before, its exception ended the retired worker's task with an error, which ended
    the delivery thread: nothing was sent after the reload."""
    old = _Recording("n", broken_close=True)
    new = _Recording("n")

    def settings(notifier: _Recording) -> SenderSettings:
        return SenderSettings(lambda client: {"n": notifier}, initial_backoff_s=0.1,
                              max_backoff_s=0.5, batch=10, timeout_s=5.0)

    store = Store(tmp_path / "state.db")
    sender = SenderThread(store.path, settings(old))
    sender.start()
    try:
        sender.reload(sender.prepare(settings(new)), 5.0)
        store.commit((), [Delivery(sample_alert(id="after-the-reload"), "n")], now=time.time())
        sender.wake()
        wait_for(lambda: new.sent == ["after-the-reload"], 10, "the send after the reload")
        assert sender.alive
    finally:
        sender.stop(1.0)
        store.close()
    assert old.sent == []
