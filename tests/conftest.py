"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from tests.corpus import Corpus, find_interpreters, shortage  # for the corpus fixture
from tests.corpus.gen import generate  # for the corpus fixture

# --- corpus: the traceback corpus (tests/corpus) ------------------------------------------------


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """Every scenario of tests/corpus run under every CPython 3.8+ found, with its truth."""
    interpreters = find_interpreters()
    reason = shortage(interpreters)
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)  # CI must score the parser, not quietly skip it
        pytest.skip(reason)
    return generate(tmp_path_factory.mktemp("corpus"), interpreters)


# --- end corpus ---------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    """An HTTP server on 127.0.0.1 that answers in threads: a request held or hung
    by one handler does not keep the next ones from being answered."""
    http = HTTPServer(host="127.0.0.1", threaded=True)
    http.start()
    yield http
    http.clear()
    if http.is_running():
        http.stop()
