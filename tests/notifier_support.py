"""Helpers shared by the channel notifier tests: a local HTTP server and request capture."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture(scope="module")
def running_server() -> Iterator[HTTPServer]:
    httpd = HTTPServer(host="127.0.0.1", port=0)
    httpd.start()
    yield httpd
    httpd.stop()


@pytest.fixture
def server(running_server: HTTPServer) -> HTTPServer:
    running_server.clear()
    return running_server


def posted(server: HTTPServer) -> dict[str, Any]:
    """The JSON body of the last request the server received."""
    request, _ = server.log[-1]
    body: dict[str, Any] = json.loads(request.get_data())
    return body


def self_signed(home: Path, needed_for: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for a day: (cert, key).

    Without openssl the calling test is skipped, loudly, and fails in CI.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"openssl is missing; CI must test {needed_for}")
        pytest.skip(f"openssl is missing: SKIPPING the {needed_for} tests")
    cert, key = home / "cert.pem", home / "key.pem"
    request = (
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
        " -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
    )
    subprocess.run(
        [openssl, *request.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key
