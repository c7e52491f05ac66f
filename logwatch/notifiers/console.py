"""Alert -> standard output, for `logwatch replay`, first runs and containers."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, ClassVar, Literal, TextIO

from logwatch.errors import PermanentDeliveryError
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers.base import NotifierOptions, Receipt
from logwatch.notifiers.escaping import printable

if TYPE_CHECKING:  # only the signature names it: `check` and `replay` need no httpx
    import httpx

INDENT = "    "


class ConsoleOptions(NotifierOptions):
    format: Literal["text", "json"] = "text"


def render_text(alert: Alert) -> str:
    """A readable block: the title line, the facts, then the event text indented."""
    label = alert.severity.name if alert.status is AlertStatus.FIRING else alert.status.upper()
    facts = [
        ("severity", str(alert.severity)),
        ("rule", alert.rule),
        ("host", alert.host),
        ("source", alert.source),
        ("file", f"{alert.file}:{alert.first_line}-{alert.last_line}"),
        ("count", str(alert.count)),
    ]
    lines = [f"[{label}] {alert.title}"]
    lines += [f"  {key + ':':<10}{value}" for key, value in facts]
    if alert.text:
        # split on "\n" only: a stray "\r" in a log line is shown, not obeyed
        lines += [INDENT + line for line in alert.text.split("\n")]
    return printable("\n".join(lines)) + "\n"


def render_json(alert: Alert) -> str:
    """The webhook payload on one line (JSON escapes every newline and control character)."""
    return json.dumps(alert.payload(), ensure_ascii=False) + "\n"


class ConsoleNotifier:
    """Print each alert; ``stream`` defaults to whatever ``sys.stdout`` is at send time."""

    Options: ClassVar[type[NotifierOptions]] = ConsoleOptions

    def __init__(
        self,
        name: str,
        options: ConsoleOptions,
        *,
        client: httpx.AsyncClient | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.name = name
        self._render = render_json if options.format == "json" else render_text
        self._stream = stream

    async def send(self, alert: Alert) -> Receipt:
        stream = self._stream or sys.stdout
        try:
            stream.write(self._render(alert))
            # flushed per alert: a pipe reader (jq, a log shipper) sees it now, not at exit
            stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed
            raise PermanentDeliveryError(f"cannot write to standard output: {exc}") from exc
        return Receipt(status=None, detail="printed")

    async def aclose(self) -> None:
        """Nothing to release: standard output is not ours to close."""
