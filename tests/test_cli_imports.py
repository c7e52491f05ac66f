"""`check` and `replay` send nothing, so they must not pay for what only sending needs.

Each case runs the command in a fresh interpreter and lists what it imported:
httpx alone costs ~50 ms of start-up, and `replay` runs once per file in scripts.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import logwatch

# what only delivery needs: the HTTP client, SMTP, the event loop
SEND_ONLY = ("httpx", "httpcore", "smtplib", "asyncio")
# what only the daemon and the `silence` and `outbox` commands need: the SQLite stores,
# and `logging`, which only the daemon sets up (~10 ms of start-up in all)
STATE_ONLY = (
    "sqlite3",
    "logging",
    "logwatch.store",
    "logwatch.rules.silence_store",
    "logwatch.rules.sqlite",
)
# what only running events through the rules needs: `check` validates rules, runs none (~25 ms)
ENGINE_ONLY = (
    "logwatch.rules.engine",
    "logwatch.rules.redact",
    "logwatch.rules.state",
    "logwatch.multiline.assembler",
)
# what only following files needs: `replay` reads each file once from its start
TAILER_ONLY = ("logwatch.sources.values", "logwatch.sources.tailer")

PROBE = """\
import json, sys
from logwatch.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _imported(*args: str) -> set[str]:
    """Every module the command imported, by its full name."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True, text=True, timeout=60, check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    return set(report["modules"])


def _packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config naming an HTTP notifier of each kind and an email one."""
    path = tmp_path / "logwatch.yaml"
    path.write_text(
        f"""\
state_dir: {tmp_path / "state"}
rules:
  - name: db
    match: {{message: 'could not connect'}}
    notify: [hook, chat, mail]
notifiers:
  hook: {{type: webhook, url: "http://127.0.0.1:9/hook"}}
  chat: {{type: slack, url: "https://hooks.slack.com/services/T0/B0/XXXXtokenXXXX"}}
  mail: {{type: email, host: smtp.example.com, from: a@example.com, to: [b@example.com]}}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def checked(config: Path) -> set[str]:
    """What `logwatch check` imported."""
    return _imported("check", "-c", str(config))


@pytest.fixture
def replayed(config: Path, tmp_path: Path) -> set[str]:
    """What `logwatch replay` of a one-record file imported."""
    log = tmp_path / "app.log"
    log.write_text("2026-01-01 12:00:00,000 ERROR app could not connect\n", encoding="utf-8")
    return _imported("replay", "-c", str(config), "--json", str(log))


def test_check_imports_nothing_that_only_sending_needs(checked: set[str]) -> None:
    imported = _packages(checked)
    assert imported.isdisjoint(SEND_ONLY), sorted(imported.intersection(SEND_ONLY))


def test_replay_imports_nothing_that_only_sending_needs(replayed: set[str]) -> None:
    imported = _packages(replayed)
    assert imported.isdisjoint(SEND_ONLY), sorted(imported.intersection(SEND_ONLY))


def test_check_imports_no_state_store_and_no_rule_engine(checked: set[str]) -> None:
    assert checked.isdisjoint(STATE_ONLY), sorted(checked.intersection(STATE_ONLY))
    assert checked.isdisjoint(ENGINE_ONLY), sorted(checked.intersection(ENGINE_ONLY))


def test_replay_imports_no_state_store_and_no_tailer(replayed: set[str]) -> None:
    assert replayed.isdisjoint(STATE_ONLY), sorted(replayed.intersection(STATE_ONLY))
    assert replayed.isdisjoint(TAILER_ONLY), sorted(replayed.intersection(TAILER_ONLY))
    # the probe itself: replay did run the rules
    assert "logwatch.rules.engine" in replayed


def test_importing_the_package_imports_no_pydantic() -> None:
    """The package's public names (for plugin authors) are imported when first used."""
    probe = "import json, sys\nimport logwatch\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    imported = set(json.loads(done.stdout))
    assert {"pydantic", "logwatch.notifiers.base"}.isdisjoint(imported)


def test_every_public_name_still_resolves() -> None:
    for name in logwatch.__all__:
        assert getattr(logwatch, name) is not None
        assert name in dir(logwatch)
    from logwatch.notifiers.base import NotifierOptions

    assert logwatch.NotifierOptions is NotifierOptions
    with pytest.raises(AttributeError):
        _ = logwatch.NoSuchName


def test_star_import_gives_every_public_name() -> None:
    """In a fresh interpreter, where no name has been looked up yet."""
    probe = "import json\nfrom logwatch import *\nprint(json.dumps(sorted(globals())))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert set(logwatch.__all__) <= set(json.loads(done.stdout))


@pytest.mark.parametrize("package", ["logwatch.rules", "logwatch.multiline", "logwatch.sources"])
def test_star_import_of_a_package_imported_on_first_use(package: str) -> None:
    """These packages import their modules when a name is first looked up."""
    probe = f"import json\nfrom {package} import *\nprint(json.dumps(sorted(globals())))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    names = set(json.loads(done.stdout))
    module = importlib.import_module(package)
    assert set(module.__all__) <= names
    for name in module.__all__:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError):
        _ = module.NoSuchName


def test_multiline_fingerprint_names_the_function() -> None:
    """Not the submodule of that name, whichever of the two was imported first."""
    probe = (
        "import logwatch.rules.match\n"
        "from logwatch.multiline import fingerprint\n"
        "print(callable(fingerprint))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "True"
