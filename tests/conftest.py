"""Shared pytest fixtures."""

from __future__ import annotations

import os

import pytest

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
