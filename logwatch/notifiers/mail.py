"""Alert -> an email message: multipart/alternative, plain text first, escaped HTML last.

The text part is the console notifier's rendering; the HTML part escapes every
log-derived value and shows the traceback in ``<pre>``, so a ``<script>`` or
``<a href>`` in a log line arrives as visible characters.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from logwatch.model import Alert, AlertStatus
from logwatch.notifiers._incident import incident_key
from logwatch.notifiers.console import render_text
from logwatch.notifiers.escaping import cut_end, printable, shorten_traceback

SUBJECT_CHARS = 200
# our own: keeps a message far below the 1 MB many relays accept, even as HTML
TRACEBACK_CHARS = 100_000
LINE_CHARS = 2_000
FALLBACK_DOMAIN = "logwatch.invalid"  # RFC 2606: a sender without a domain still gets ids

_STYLE_PRE = "background:#f6f8fa;padding:8px;font-size:12px;white-space:pre-wrap"


def render(alert: Alert, *, sender: str, to: list[str], now: datetime) -> EmailMessage:
    """The message for ``alert``, addressed from ``sender`` to ``to``."""
    short = dataclasses.replace(
        alert,
        text=shorten_traceback(alert.text, alert.exc_type, TRACEBACK_CHARS, line_chars=LINE_CHARS),
    )
    domain = _domain(sender)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject(alert)
    message["Date"] = format_datetime(now)
    # the same alert id gives the same Message-ID, so a retried delivery is recognisable
    message["Message-ID"] = f"<{alert.id}.{alert.status}@{domain}>"
    # every mail of a group refers to one thread anchor: clients show its lifecycle together
    message["References"] = f"<{_thread_anchor(alert)}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to alerts
    message["X-Auto-Response-Suppress"] = "All"  # the same for Exchange and Outlook
    message.set_content(render_text(short))
    message.add_alternative(render_html(short), subtype="html")
    return message


def subject(alert: Alert) -> str:
    """``[CRITICAL] OperationalError: could not connect (db-down on web-1)`` on one line."""
    label = alert.severity.name if alert.status is AlertStatus.FIRING else "RESOLVED"
    text = f"[{label}] {alert.title} ({alert.rule} on {alert.host})"
    # a header must not contain line breaks; printable() makes other controls visible
    return cut_end(" ".join(printable(text).split()), SUBJECT_CHARS)


def render_html(alert: Alert) -> str:
    """The HTML part: heading, a table of facts, the traceback in ``<pre>``."""
    label = alert.severity.name if alert.status is AlertStatus.FIRING else "RESOLVED"
    facts = [
        ("Severity", str(alert.severity)),
        ("Rule", alert.rule),
        ("Host", alert.host),
        ("Source", alert.source),
        ("File", f"{alert.file}:{alert.first_line}-{alert.last_line}"),
        ("Count", str(alert.count)),
        ("First seen", alert.first_seen.isoformat(timespec="seconds")),
        ("Last seen", alert.last_seen.isoformat(timespec="seconds")),
    ]
    facts += [(key, value) for key, value in sorted(alert.labels.items())]
    rows = "\n".join(
        f'<tr><th align="left">{_escape(key)}</th><td>{_escape(value)}</td></tr>'
        for key, value in facts
    )
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"></head><body>',
        f"<h2>[{label}] {_escape(alert.title)}</h2>",
        f"<table>\n{rows}\n</table>",
    ]
    if alert.text:
        parts.append(f'<pre style="{_STYLE_PRE}">{_escape(alert.text)}</pre>')
    parts.append("<p><small>sent by logwatch</small></p></body></html>")
    return "\n".join(parts) + "\n"


def _escape(text: str) -> str:
    return html.escape(printable(text), quote=True)


def _domain(sender: str) -> str:
    _, address = parseaddr(sender)
    return address.rpartition("@")[2] or FALLBACK_DOMAIN


def _thread_anchor(alert: Alert) -> str:
    # hashed: the key holds the host and rule names, which need not be valid in a Message-ID
    key = incident_key(alert, limit=10_000)
    return "incident." + hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
