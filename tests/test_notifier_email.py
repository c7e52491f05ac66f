"""The email notifier, against a real SMTP server (aiosmtpd) on 127.0.0.1.

TLS tests use a self-signed certificate made with the `openssl` command (the
`cryptography` package is not a test dependency); without it they skip, and
fail under CI=true.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pydantic
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers import registry
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.console import render_text
from logwatch.notifiers.smtp import EmailNotifier, EmailOptions
from logwatch.testing import SAMPLE_TEXT, sample_alert
from tests.notifier_support import self_signed

SENDER = "logwatch@example.com"
TO = ["oncall@example.com", "dev@example.com"]
USER, PASSWORD = "alerts", "pa55-w0rd-secret"


@dataclasses.dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: bytes | None


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and answers as scripted."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.rcpt_replies: dict[str, str] = {}  # address -> reply instead of 250
        self.data_reply: str | None = None
        self.data_started = threading.Event()
        self.release_data: threading.Event | None = None  # set: DATA waits for it

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.data_started.set()
        if self.release_data is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.release_data.wait)
        if self.data_reply:
            return self.data_reply
        message = message_from_bytes(envelope.content, policy=policy.default)
        login = session.auth_data if session.authenticated else None
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message,
                session.ssl is not None,
                login,
            )
        )
        return "250 Message accepted for delivery"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield mailbox, port
    finally:
        if mailbox.release_data is not None:
            mailbox.release_data.set()
        controller.stop()


@pytest.fixture
def plain() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@dataclasses.dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, valid for a day."""
    cert, key = self_signed(tmp_path_factory.mktemp("tls"), "STARTTLS and implicit TLS")
    return Certificate(cert, key)


def send(port: int, alert: Alert | None = None, **overrides: Any) -> Receipt:
    notifier = EmailNotifier("mail", options(port=port, **overrides))
    return asyncio.run(notifier.send(alert or sample_alert()))


def options(**overrides: Any) -> EmailOptions:
    raw = {"type": "email", "host": "127.0.0.1", "tls": "none", "from": SENDER, "to": TO}
    return EmailNotifier.Options.model_validate({**raw, **overrides})


def parts(message: EmailMessage) -> dict[str, str]:
    """Each part's decoded text, with SMTP's CRLF line ends back to "\\n"."""
    return {
        part.get_content_type(): part.get_content().replace("\r\n", "\n")
        for part in message.iter_parts()
    }


class TestMessage:
    def test_is_multipart_alternative_text_then_html(self, plain: tuple[Mailbox, int]) -> None:
        """One message to every recipient: a text part first, the richer HTML part last."""
        mailbox, port = plain

        receipt = send(port)

        [got] = mailbox.received
        assert (got.mail_from, got.rcpt_tos) == (SENDER, TO)
        assert got.message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in got.message.iter_parts()] == [
            "text/plain",
            "text/html",
        ]
        assert receipt == Receipt(
            status=None, detail=f"SMTP 127.0.0.1:{port}: accepted for 2 of 2 recipients"
        )

    def test_headers(self, plain: tuple[Mailbox, int]) -> None:
        """Subject from the title; a Message-ID per alert; marked as automatic mail."""
        mailbox, port = plain

        send(port)

        message = mailbox.received[0].message
        assert message["Subject"] == (
            "[CRITICAL] OperationalError: could not connect (db-down on web-1)"
        )
        assert message["From"] == SENDER
        assert message["To"] == "oncall@example.com, dev@example.com"
        assert message["Message-ID"] == "<0f3c9a1e5b7d4c2a.firing@example.com>"
        assert message["References"].startswith("<incident.")
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["X-Auto-Response-Suppress"] == "All"
        assert message["Date"]

    def test_text_part_is_the_console_rendering(self, plain: tuple[Mailbox, int]) -> None:
        mailbox, port = plain
        alert = sample_alert()

        send(port, alert)

        assert parts(mailbox.received[0].message)["text/plain"] == render_text(alert)

    def test_html_part_shows_the_escaped_traceback_in_pre(self, plain: tuple[Mailbox, int]) -> None:
        """`<module>`-style text from the traceback is escaped inside a <pre> block."""
        mailbox, port = plain
        text = SAMPLE_TEXT.replace("in query", "in <module>")

        send(port, sample_alert(text=text))

        body = parts(mailbox.received[0].message)["text/html"]
        assert "in &lt;module&gt;" in body
        start = body.index("<pre")
        pre = body[body.index(">", start) + 1 : body.index("</pre>")]
        assert pre == html.escape(text)

    def test_resolved_mail_says_so_and_joins_the_thread(self, plain: tuple[Mailbox, int]) -> None:
        """Firing and resolved mails of a group refer to the same thread anchor."""
        mailbox, port = plain

        send(port, sample_alert())
        send(port, sample_alert(status=AlertStatus.RESOLVED, id="r1", text=""))

        firing, resolved = (got.message for got in mailbox.received)
        assert resolved["Subject"].startswith("[RESOLVED] ")
        assert resolved["Message-ID"] == "<r1.resolved@example.com>"
        assert firing["References"] == resolved["References"]


class TestInertLogText:
    @pytest.mark.parametrize(
        "attack",
        [
            "<script>alert(1)</script>",
            '<a href="http://evil.example">click</a>',
            '"><img src=x onerror=alert(1)>',
        ],
    )
    def test_html_from_a_log_line_is_escaped(self, plain: tuple[Mailbox, int], attack: str) -> None:
        mailbox, port = plain
        alert = sample_alert(
            title=f"ValueError: {attack}",
            text=f"Traceback (most recent call last):\nValueError: {attack}",
            host=attack,
            labels={"team": attack},
        )

        send(port, alert)

        body = parts(mailbox.received[0].message)["text/html"]
        assert attack not in body
        assert "<script" not in body
        assert "<a " not in body
        assert "<img" not in body
        assert html.escape(attack) in body

    def test_line_breaks_cannot_inject_headers(self, plain: tuple[Mailbox, int]) -> None:
        """A title with CR/LF stays one Subject line; no Bcc appears, no extra recipient."""
        mailbox, port = plain

        send(port, sample_alert(title="boom\r\nBcc: evil@example.net\r\n\r\nbody"))

        [got] = mailbox.received
        assert got.rcpt_tos == TO
        assert got.message["Bcc"] is None
        assert "\n" not in got.message["Subject"]
        assert "Bcc: evil@example.net" in got.message["Subject"]


class TestTls:
    def test_starttls_with_login(self, certificate: Certificate) -> None:
        """tls: starttls upgrades the connection before AUTH; the server requires both."""
        with smtp_server(
            tls_context=certificate.server_context(),
            require_starttls=True,
            authenticator=authenticate,
            auth_required=True,
        ) as (mailbox, port):
            send(
                port,
                tls="starttls",
                username=USER,
                password=PASSWORD,
                ca_file=str(certificate.cert),
            )

        [got] = mailbox.received
        assert got.tls
        assert got.login == USER.encode()
        assert got.message["Subject"].startswith("[CRITICAL] ")

    def test_implicit_tls(self, certificate: Certificate) -> None:
        """tls: ssl speaks TLS from the first byte (port 465 style)."""
        with smtp_server(ssl_context=certificate.server_context()) as (mailbox, port):
            send(port, tls="ssl", ca_file=str(certificate.cert))

        assert len(mailbox.received) == 1

    def test_untrusted_certificate_is_permanent_and_names_ca_file(
        self, certificate: Certificate
    ) -> None:
        """A relay whose certificate nobody trusts will not become trusted by retrying."""
        with (
            smtp_server(tls_context=certificate.server_context()) as (mailbox, port),
            pytest.raises(PermanentDeliveryError, match="set ca_file") as caught,
        ):
            send(port, tls="starttls")
        assert "self-signed certificate" in str(caught.value)
        assert mailbox.received == []

    def test_wrong_password_is_permanent_and_not_shown(self, certificate: Certificate) -> None:
        with (
            smtp_server(
                tls_context=certificate.server_context(),
                authenticator=authenticate,
                auth_required=True,
            ) as (_, port),
            pytest.raises(
                PermanentDeliveryError, match=r"535 .*check username and password"
            ) as caught,
        ):
            send(
                port,
                tls="starttls",
                username=USER,
                password="wrong-password-123",
                ca_file=str(certificate.cert),
            )
        assert "wrong-password-123" not in str(caught.value)

    def test_server_without_starttls_is_permanent(self, plain: tuple[Mailbox, int]) -> None:
        """tls: starttls never falls back to clear text."""
        _, port = plain

        with pytest.raises(PermanentDeliveryError, match=r"STARTTLS.*check tls and port"):
            send(port, tls="starttls")

    def test_implicit_tls_to_a_plain_port_is_permanent(self, plain: tuple[Mailbox, int]) -> None:
        _, port = plain

        with pytest.raises(PermanentDeliveryError, match="does not speak TLS"):
            send(port, tls="ssl")


class TestReplies:
    def test_some_recipients_refused_is_delivered_and_reported(
        self, plain: tuple[Mailbox, int]
    ) -> None:
        """The others already have the mail: no retry, the receipt names the refused one."""
        mailbox, port = plain
        mailbox.rcpt_replies["dev@example.com"] = "550 5.1.1 no such user"

        receipt = send(port)

        assert mailbox.received[0].rcpt_tos == ["oncall@example.com"]
        assert receipt.detail == (
            f"SMTP 127.0.0.1:{port}: accepted for 1 of 2 recipients;"
            " refused: dev@example.com (550 5.1.1 no such user)"
        )

    @pytest.mark.parametrize(
        ("reply", "error"),
        [
            ("450 4.2.1 greylisted, try later", RetryableDeliveryError),
            ("550 5.1.1 no such user", PermanentDeliveryError),
        ],
    )
    def test_all_recipients_refused(
        self, plain: tuple[Mailbox, int], reply: str, error: type[Exception]
    ) -> None:
        """4xx on RCPT is transient (greylisting); 5xx is not."""
        mailbox, port = plain
        mailbox.rcpt_replies = dict.fromkeys(TO, reply)

        with pytest.raises(error, match="every recipient was refused"):
            send(port)

    @pytest.mark.parametrize(
        ("reply", "error"),
        [
            ("451 4.3.0 local error, try again", RetryableDeliveryError),
            ("554 5.6.0 message rejected", PermanentDeliveryError),
        ],
    )
    def test_data_reply_codes(
        self, plain: tuple[Mailbox, int], reply: str, error: type[Exception]
    ) -> None:
        mailbox, port = plain
        mailbox.data_reply = reply

        with pytest.raises(error, match=reply.split(",")[0]):
            send(port)

    def test_refused_connection_is_retryable(self) -> None:
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))  # bound, never listening
            port = closed.getsockname()[1]

            with pytest.raises(RetryableDeliveryError, match=f"SMTP 127.0.0.1:{port}: "):
                send(port)

    def test_silent_server_times_out_retryably(self) -> None:
        """A server that accepts and never greets is retried, after `timeout`."""
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            port = silent.getsockname()[1]

            with pytest.raises(RetryableDeliveryError, match=r"no reply within 0\.2s"):
                send(port, timeout=0.2)

    def test_event_loop_keeps_running_while_smtp_waits(self, plain: tuple[Mailbox, int]) -> None:
        """smtplib runs in a thread: other coroutines run while the server is slow."""
        mailbox, port = plain
        mailbox.release_data = threading.Event()
        notifier = EmailNotifier("mail", options(port=port, timeout=10))

        async def go() -> Receipt:
            sending = asyncio.create_task(notifier.send(sample_alert()))
            await poll(mailbox.data_started.is_set, what="the DATA command")
            assert not sending.done()
            # only a coroutine on this loop can let the server answer
            assert mailbox.release_data is not None
            mailbox.release_data.set()
            return await sending

        receipt = asyncio.run(go())

        assert "accepted for 2 of 2" in receipt.detail


async def poll(check: Callable[[], bool], *, what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")
        await asyncio.sleep(0.01)


class TestOptions:
    @pytest.mark.parametrize(("tls", "port"), [("none", 25), ("starttls", 587), ("ssl", 465)])
    def test_port_defaults_follow_tls(self, tls: str, port: int) -> None:
        assert options(tls=tls, port=None).effective_port == port

    def test_defaults(self) -> None:
        parsed = EmailNotifier.Options.model_validate(
            {"type": "email", "host": "smtp.example.com", "from": SENDER, "to": TO}
        )
        assert (parsed.tls, parsed.port, parsed.username, parsed.timeout) == (
            "starttls",
            None,
            "",
            30.0,
        )
        assert parsed.sender == SENDER

    def test_to_is_a_non_empty_list_of_addresses(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="to"):
            options(to=[])
        with pytest.raises(pydantic.ValidationError, match="not an email address"):
            options(to=["oncall"])

    def test_from_must_be_an_address(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="from"):
            options(**{"from": "logwatch"})

    def test_display_names_are_allowed(self) -> None:
        parsed = options(**{"from": "logwatch <logwatch@example.com>"})
        assert parsed.sender == "logwatch <logwatch@example.com>"

    def test_username_and_password_come_together(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="both username and password"):
            options(tls="starttls", username=USER)

    def test_no_password_over_clear_text(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="clear text"):
            options(tls="none", username=USER, password=PASSWORD)

    def test_repr_hides_the_password(self) -> None:
        parsed = options(tls="starttls", username=USER, password=PASSWORD)
        assert PASSWORD not in repr(parsed) + str(parsed)

    def test_ca_file_must_exist(self, tmp_path: Path) -> None:
        with pytest.raises(pydantic.ValidationError, match="no file"):
            options(ca_file=str(tmp_path / "missing.pem"))

    def test_unknown_keys_are_rejected(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="starttls"):
            options(starttls=True)

    def test_is_registered_as_email(self) -> None:
        assert registry.load("email") is EmailNotifier
