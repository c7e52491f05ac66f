"""Alert -> email over SMTP (plain, STARTTLS or implicit TLS), smtplib run off the event loop.

This is the one place where smtplib, ssl and socket errors become logwatch errors:

    4xx reply codes, disconnects, refused
    connections, timeouts, DNS failures      -> RetryableDeliveryError
    5xx reply codes, missing server features,
    certificate and TLS-version mismatches    -> PermanentDeliveryError
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from logwatch.config.fields import Duration
from logwatch.errors import DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert
from logwatch.notifiers import mail
from logwatch.notifiers._http import Masker
from logwatch.notifiers.base import NotifierOptions, Receipt

# smtplib, ssl and asyncio are imported by the notifier, not here: `check` and
# `replay` validate these options and never send
if TYPE_CHECKING:
    import smtplib

    import httpx

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
Refused = dict[str, tuple[int, bytes]]


class EmailOptions(NotifierOptions):
    # `from` is a Python keyword: the field is `sender`, spelt `from` in YAML
    model_config = ConfigDict(populate_by_name=True)

    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535, description="default: 25, 587 or 465 by tls")
    tls: Literal["none", "starttls", "ssl"] = "starttls"
    username: str = ""
    password: str = Field("", repr=False)
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    ca_file: str | None = Field(None, description="PEM bundle that signs a private relay's cert")
    timeout: Duration = Field(30.0, gt=0, description="seconds to wait for each SMTP reply")

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.tls]

    @field_validator("sender")
    @classmethod
    def _one_address(cls, value: str) -> str:
        return _check_address(value)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [_check_address(address) for address in value]

    @field_validator("ca_file")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no file {value!r}; give the path of a PEM certificate bundle")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if bool(self.username) != bool(self.password):
            raise ValueError("set both username and password, or neither")
        if self.username and self.tls == "none":
            raise ValueError(
                "the password would cross the network in clear text; use tls: starttls or ssl"
            )
        return self


def _check_address(value: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address or "\n" in value or "\r" in value:
        raise ValueError(f"{value!r} is not an email address like alerts@example.com")
    return value


class EmailNotifier:
    """Send each alert as one email to every address in ``to``."""

    Options: ClassVar[type[EmailOptions]] = EmailOptions

    def __init__(
        self, name: str, options: EmailOptions, *, client: httpx.AsyncClient | None = None
    ) -> None:
        import ssl

        self.name = name
        self._options = options
        self._port = options.effective_port
        self._where = f"SMTP {options.host}:{self._port}"
        self._mask = Masker([options.password])
        # built once: loading the trust store is the expensive part of a TLS connection
        self._context = ssl.create_default_context(cafile=options.ca_file)

    async def send(self, alert: Alert) -> Receipt:
        import asyncio
        import smtplib

        options = self._options
        message = mail.render(alert, sender=options.sender, to=options.to, now=datetime.now(UTC))
        try:
            # smtplib blocks; a thread keeps tailing and other deliveries going meanwhile
            refused = await asyncio.to_thread(self._transmit, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._translate(exc) from exc
        accepted = len(options.to) - len(refused)
        detail = f"{self._where}: accepted for {accepted} of {len(options.to)} recipients"
        if refused:
            # the others already have it: a retry would send them a duplicate
            detail += "; refused: " + _describe(refused)
        return Receipt(status=None, detail=self._mask(detail))

    def _transmit(self, message: EmailMessage) -> Refused:
        """Connect, secure, log in and send; runs in a worker thread."""
        import smtplib

        options = self._options
        smtp: smtplib.SMTP
        if options.tls == "ssl":
            smtp = smtplib.SMTP_SSL(
                options.host, self._port, timeout=options.timeout, context=self._context
            )
        else:
            smtp = smtplib.SMTP(options.host, self._port, timeout=options.timeout)
        try:
            if options.tls == "starttls":
                smtp.starttls(context=self._context)
            if options.username:
                smtp.login(options.username, options.password)
            return smtp.send_message(message, from_addr=options.sender, to_addrs=options.to)
        finally:
            _quit(smtp)

    def _translate(self, exc: smtplib.SMTPException | OSError) -> DeliveryError:
        import smtplib
        import ssl

        where, mask = self._where, self._mask
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            refused: Refused = exc.recipients
            text = mask(f"{where}: every recipient was refused: {_describe(refused)}")
            if any(400 <= code < 500 for code, _ in refused.values()):
                return RetryableDeliveryError(text)  # greylisting, a full mailbox
            return PermanentDeliveryError(text)
        if isinstance(exc, smtplib.SMTPResponseException):
            reply = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            text = mask(f"{where}: {exc.smtp_code} {' '.join(reply.split())}")
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                text += "; check username and password"
            if 500 <= exc.smtp_code < 600:
                return PermanentDeliveryError(text)
            return RetryableDeliveryError(text)
        if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
            exc.__context__, TimeoutError
        ):
            # smtplib reports a read timeout as a disconnect; the cause is more useful
            return RetryableDeliveryError(f"{where}: no reply within {self._options.timeout:g}s")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return RetryableDeliveryError(f"{where}: {mask(str(exc)) or 'server disconnected'}")
        if isinstance(exc, smtplib.SMTPException):
            # the server lacks STARTTLS or AUTH: only a config change helps
            return PermanentDeliveryError(f"{where}: {mask(str(exc))}; check tls and port")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return PermanentDeliveryError(
                f"{where}: {exc.verify_message}; set ca_file if the relay uses a private CA"
            )
        if isinstance(exc, ssl.SSLError) and exc.reason == "WRONG_VERSION_NUMBER":
            return PermanentDeliveryError(
                f"{where}: the server does not speak TLS here; check tls and port"
            )
        if isinstance(exc, TimeoutError):
            return RetryableDeliveryError(f"{where}: no reply within {self._options.timeout:g}s")
        reason = mask(str(exc)) or type(exc).__name__
        return RetryableDeliveryError(f"{where}: {reason}")

    async def aclose(self) -> None:
        """Nothing to release: every send opens and closes its own connection."""


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye, ignoring a failing QUIT: the message was already accepted, or not."""
    import smtplib

    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _describe(refused: Refused) -> str:
    return ", ".join(
        f"{address} ({code} {reply.decode('utf-8', 'replace').strip()})"
        for address, (code, reply) in refused.items()
    )
