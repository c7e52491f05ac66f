"""A source's `encoding`: logs written in GBK, GB18030 or cp1252 read as their writer meant.

The logs are written by a real `logging.FileHandler(encoding=...)` in a child
interpreter, tracebacks included; the rules name text in the same languages,
so the filter must look for their literals in the file's own bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from logwatch.sources.framing import LineFramer
from tests.daemon_harness import Receiver, logwatch, running_daemon, wait_for

# per encoding: a warning no traceback carries, and a failure with one; the
# full-width colon and the en dash (cp1252, not Latin-1) are meant
TEXTS = {
    "gbk": ("库存不足：商品 42", "支付失败", "卡被拒绝：订单 1003"),  # noqa: RUF001
    "gb18030": ("库存不足：商品 42", "支付失败 𠀀", "卡被拒绝：订单 1003"),  # noqa: RUF001
    "cp1252": (
        "Überlauf im Lager – Artikel 42",  # noqa: RUF001
        "Zahlung für Auftrag fehlgeschlagen",
        "Karte abgelehnt – Auftrag 1003",  # noqa: RUF001
    ),
}
# what `logging` writes, in a child interpreter: records, then a real traceback
WRITER = textwrap.dedent("""
    import logging, sys
    path, encoding, warning, failure, reason, filler = sys.argv[1:7]
    handler = logging.FileHandler(path, encoding=encoding)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log = logging.getLogger("shop.worker")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    for n in range(int(filler)):
        log.info("%s %d", warning[:4], n)  # the same script, never the whole warning
    log.warning(warning)
    def charge():
        raise ValueError(reason)
    try:
        charge()
    except ValueError:
        log.exception(failure)
    log.info("done")
""")


def write_log(path: Path, encoding: str, *, filler: int = 0) -> None:
    warning, failure, reason = TEXTS[encoding]
    subprocess.run(
        [sys.executable, "-c", WRITER, str(path), encoding, warning, failure, reason, str(filler)],
        check=True, timeout=120,
    )


def write_config(tmp_path: Path, encoding: str, notifier: str, *, extra: str = "") -> Path:
    warning, _, _ = TEXTS[encoding]
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"""state_dir: {tmp_path / "state"}
sources:
  - name: app
    paths: ["{tmp_path / "logs"}/*.log"]
    encoding: {encoding}
    start_at: end
{extra}rules:
  - name: stock
    match: {{message: '{warning.split()[0]}'}}
    notify: [out]
  - name: tracebacks
    match: {{traceback: true}}
    notify: [out]
notifiers:
  out: {notifier}
""",
        encoding="utf-8",
    )
    return config


def replay(config: Path, log: Path) -> list[dict[str, Any]]:
    result = logwatch("replay", "-c", str(config), "--json", str(log))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_read_as_written(records: list[dict[str, Any]], encoding: str, filler: int) -> None:
    warning, failure, reason = TEXTS[encoding]
    assert [(r["rule"], r["message"], r["exc_message"]) for r in records] == [
        ("stock", warning, None),
        ("tracebacks", failure, reason),
    ]
    assert records[0]["first_line"] == filler + 1
    assert records[1]["exc_type"] == "ValueError"
    assert records[1]["title"] == f"ValueError: {reason}"


@pytest.mark.parametrize("encoding", sorted(TEXTS))
def test_replay_reads_the_files_encoding(tmp_path: Path, encoding: str) -> None:
    """The warning is found by its literal in the file's bytes; the traceback's texts decoded."""
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    write_log(log, encoding, filler=300)
    records = replay(write_config(tmp_path, encoding, "{type: console}"), log)
    assert_read_as_written(records, encoding, 300)


def test_a_large_replay_reads_it_on_every_path(tmp_path: Path) -> None:
    """Several MiB: the filter scans ahead in another process and another decides."""
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    write_log(log, "gbk", filler=120_000)
    assert log.stat().st_size > 5 << 20  # past eventpipe's and forkscan's thresholds
    records = replay(write_config(tmp_path, "gbk", "{type: console}"), log)
    assert_read_as_written(records, "gbk", 120_000)


def test_a_source_with_its_own_header_pattern_reads_it_too(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    write_log(log, "cp1252", filler=300)
    header = "    header: '^(?P<timestamp>\\S+ \\S+) (?P<level>[A-Z]+) (?P<logger>\\S+)'\n"
    config = write_config(tmp_path, "cp1252", "{type: console}", extra=header)
    assert_read_as_written(replay(config, log), "cp1252", 300)


def test_the_daemon_sends_the_text_as_written(tmp_path: Path, httpserver: HTTPServer) -> None:
    receiver = Receiver()
    httpserver.expect_request("/alerts", method="POST").respond_with_handler(receiver.handle)
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    log.touch()
    notifier = f'{{type: webhook, url: "{httpserver.url_for("/alerts")}"}}'
    config = write_config(tmp_path, "gbk", notifier)
    with running_daemon(config, tmp_path):
        write_log(log, "gbk", filler=300)
        wait_for(lambda: receiver.count() >= 2, 10, "two webhooks")
    warning, failure, reason = TEXTS["gbk"]
    assert sorted((b["rule"], b["message"], b["exc_message"]) for b in receiver.bodies) == [
        ("stock", warning, None),
        ("tracebacks", failure, reason),
    ]


def test_a_byte_the_encoding_cannot_read_is_a_replacement_character() -> None:
    framer = LineFramer(encoding="gbk")
    lines = framer.feed("库存 ok\n".encode("gbk") + b"bad \x81\nnext\n")
    assert [line.text for line in lines] == ["库存 ok", "bad \ufffd", "next"]
    assert [line.end for line in lines] == [8, 14, 19]
