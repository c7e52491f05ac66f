"""Helpers shared by the channel notifier tests: a local HTTP server and request capture."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
