"""The `logwatch` command line: run · check · replay · test · test-notify · status · silence ·
outbox · schema.

Imports of the heavier stages happen inside each command so that `logwatch
check` and `--help` start fast.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logwatch.config import Config
    from logwatch.eventpipe import EventPipe
    from logwatch.headstart import HeadStart
    from logwatch.model import Event

DEFAULT_CONFIG = "/etc/logwatch/config.yaml"


def _setup_logging(level: str) -> None:
    from logwatch.daemon.logsetup import setup_logging

    setup_logging(level)


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("LOGWATCH_CONFIG") or DEFAULT_CONFIG)


def _load(args: argparse.Namespace) -> Config:
    from logwatch.config import load_config

    return load_config(_config_path(args))


_env_files_read = False  # an --env-file was given: no hint to give one


def _env_files(args: argparse.Namespace) -> list[str]:
    """Every --env-file, in the order given: before the command, after it, after its action."""
    return [*args.env_files, *getattr(args, "command_env_files", []),
            *getattr(args, "action_env_files", [])]


def _apply_env_files(paths: Sequence[str]) -> None:
    """Set the files' variables in this process's environment, as systemd sets the service's.

    Over the variables already set, as EnvironmentFile= overrides Environment=
    and the manager's: a command run by hand sees what the service sees, for
    ``${NAME}`` and for what else reads the environment (HTTPS_PROXY, SSL_CERT_FILE).
    """
    if not paths:
        return  # the usual case, which imports nothing more
    global _env_files_read
    _env_files_read = True
    from logwatch.envfile import read_env_file
    from logwatch.errors import ConfigError, ConfigProblem

    values: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for path in paths:
        try:
            values.update(read_env_file(Path(path), warn=lambda line: print(line, file=sys.stderr)))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    os.environ.update(values)


def _state_dir(args: argparse.Namespace) -> Path:
    """The config's state_dir alone: the state commands need no secret the daemon has."""
    from logwatch.config import load_state_dir

    return load_state_dir(_config_path(args))


def _print_config_error(exc: Exception) -> None:
    from logwatch.errors import ConfigError

    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        if any(problem.path == DEFAULT_CONFIG and problem.message.startswith("cannot read config")
               for problem in exc.problems):
            # a first try from a checkout: no -c, and nothing installed where the service's is
            print("hint: without -c, logwatch reads the service's config; name one with"
                  " -c FILE or $LOGWATCH_CONFIG (in a checkout: -c config.example.yaml)",
                  file=sys.stderr)
        unset = any("not set; set it" in problem.message for problem in exc.problems)
        if unset and not _env_files_read:
            # the usual cause: `check` run by hand, without the service's secrets
            print("hint: the service's variables are in its environment file; a command run"
                  " by hand reads it with --env-file /etc/logwatch/env", file=sys.stderr)
    else:
        print(exc, file=sys.stderr)


# -- commands ----------------------------------------------------------------


def _without_httpx_cli() -> None:
    """Keep httpx from importing its own command line with itself.

    httpx imports ``httpx._main`` (click, rich, pygments: ~14 ms and ~2 MiB of
    resident memory) whenever those happen to be installed, and falls back to
    a stub when the import fails. logwatch never runs httpx's command line.
    """
    # None in sys.modules makes the import raise ImportError (the import system's own rule)
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def cmd_run(args: argparse.Namespace) -> int:
    from logwatch.errors import ConfigError, StateError

    _setup_logging(args.log_level or "info")
    _without_httpx_cli()
    try:
        from logwatch.daemon.runner import run_daemon

        return run_daemon(_config_path(args), log_level=args.log_level)
    except ConfigError as exc:
        _print_config_error(exc)
        return 2
    except StateError as exc:
        print(f"logwatch: {exc}", file=sys.stderr)
        return 1


def cmd_check(args: argparse.Namespace) -> int:
    from logwatch.sources.notes import source_notes

    try:
        config = _load(args)
    except OSError as exc:
        print(f"{_config_path(args)}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print("ok")
    _print_slow_rules(config)
    for note in source_notes(config.sources):
        print(f"note: {note}", file=sys.stderr)
    return 0


def _print_slow_rules(config: Config) -> None:
    """Name the rules that make every line worth assembling (not an error: a cost)."""
    from logwatch.rules.literals import rule_literals

    slow: dict[str, list[str]] = {}  # rule -> the sources it makes slow
    for source in config.sources:
        # a JSON record may have any fields: a rule on them alone looks at every line
        found = rule_literals(config.rules, json=source.format == "json", source=source.name)
        for name in found.slow_rules:
            slow.setdefault(name, []).append(source.name)
    if not config.sources:
        slow = {name: [] for name in rule_literals(config.rules).slow_rules}
    for name, sources in slow.items():
        where = f" for {', '.join(repr(source) for source in sources)}" if sources else ""
        print(
            f"note: rule {name!r} is slow{where}: it names no text a line must contain"
            " (a message regex with a literal, a level, a logger, or a traceback), so no"
            " line can be passed over unassembled",
            file=sys.stderr,
        )


def cmd_replay(args: argparse.Namespace) -> int:
    # A replay makes and drops millions of small objects, next to none of them in
    # cycles: a young-generation collection every 700 of them was ~8% of a storm's
    # time. Set before the imports and the config's validation, which alone made
    # ~70 collections (~9 ms of a 0.15 s start-up).
    gc.set_threshold(50_000, 10, 10)
    from logwatch.headstart import head_start

    # Replay waits for the processes it forks: SIGCHLD ignored where it was
    # started would have the kernel reap them, and their exit status lost.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # $LOGWATCH_CONFIG names the operator's config as for every command; without
    # either, replay's built-in config, not /etc's (a file may be replayed anywhere).
    args.config = args.config or os.environ.get("LOGWATCH_CONFIG") or None
    # The first file's scan begins on a second core while the config is validated.
    config = Path(args.config) if args.config else None
    head = None if args.events else head_start(config, args.files)
    try:
        return _replay(args, head)
    finally:
        if head is not None:
            head.close()


def _replay(args: argparse.Namespace, head: HeadStart | None) -> int:
    from logwatch.errors import ConfigError
    from logwatch.eventpipe import EventPipe
    from logwatch.replay import decisions_read_texts, file_events, replay_records

    try:
        if args.config:
            from logwatch.config import load_config

            # it sends nothing: the notifiers' secrets may be missing here
            config = load_config(Path(args.config), sends=False)
        else:
            from logwatch.config import default_replay_config

            config = default_replay_config()
    except ConfigError as exc:
        _print_config_error(exc)
        return 2
    # What the imports and the config made lives as long as the process: no
    # collection need look at it again, and a forked process's would copy its pages.
    gc.freeze()
    unreadable: list[str] = []
    pipe: EventPipe | None = None

    def report(name: str, exc: OSError) -> None:
        unreadable.append(name)
        line = f"logwatch: cannot read {name}: {exc.strerror or exc}"
        if pipe is not None:
            pipe.note(line)  # printed after the records of the files before it, as here
        else:
            print(line, file=sys.stderr)

    encode = _record_encoder()
    # log text reaches a terminal here: its controls (ESC c, CR, BS) are shown, not obeyed
    from logwatch.notifiers.escaping import printable

    def decide(events: Iterable[Event]) -> None:
        write = sys.stdout.write  # one write a record, where print makes two
        for record in replay_records(config, events, all_events=args.events):
            write((encode(record) if args.json else printable(_human_replay(record))) + "\n")

    events = file_events(
        config, args.files, all_events=args.events, on_error=report, head_start=head
    )
    # With a second core, a forked process decides and prints while this one reads.
    pipe = EventPipe.start(decide, args.files, texts=decisions_read_texts(config))
    if pipe is None:
        decide(events)
        code = 0
    else:
        code = pipe.run(events)
    # Nothing replay leaves behind needs collecting, and the interpreter's own
    # collections at exit would look at all of it again: ~30 ms of a 0.5 s replay.
    gc.freeze()
    return code or (1 if unreadable else 0)


def _record_encoder() -> Callable[[dict[str, Any]], str]:
    """``json.dumps(record, ensure_ascii=False)``, for replay's many records.

    json.dumps builds an encoder per call, and so does JSONEncoder.encode: its
    C part, made once here, was a seventh of encoding a storm's records.
    Records are plain trees, never circular: checking for cycles was a tenth.
    """
    plain = json.JSONEncoder(ensure_ascii=False, check_circular=False)
    try:
        from _json import encode_basestring, make_encoder

        # what JSONEncoder.encode makes for each call, with its settings
        encoder = make_encoder(
            None, plain.default, encode_basestring, None, plain.key_separator,
            plain.item_separator, plain.sort_keys, plain.skipkeys, plain.allow_nan,
        )
    except (ImportError, TypeError):  # no C part, or one this was not written for
        return plain.encode
    join = "".join

    def encode(record: dict[str, Any]) -> str:
        return join(encoder(record, 0))

    probe = {"a": [1, 2.5, None, True], "é": {"b": "\u2028\n"}}
    return encode if encode(probe) == plain.encode(probe) else plain.encode


def _human_replay(record: dict[str, Any]) -> str:
    where = f"{record['file']}:{record['first_line']}-{record['last_line']}"
    if record.get("by_time"):
        # sent by time alone (summary, digest, resolved): no event of its own
        status = "" if record["status"] == "firing" else f"{record['status'].upper()} "
        return (f"{where} [{record['rule']}] {status}{record['title']}"
                f" (count {record['count']}) -> {','.join(record['notifiers'])}")
    what = record["exc_type"] or record["level"] or "-"
    text = record["exc_message"] if record["exc_type"] else record["message"]
    verdict = (
        f"-> {','.join(record['notifiers'])}" if record["suppressed"] is None
        else f"({record['suppressed']})"
    )
    rule = record["rule"] or "-"
    said = f"{what}: {text}" if text else what  # `raise KeyboardInterrupt` says nothing more
    if what == "-" and not text and record["title"]:
        said = record["title"]  # a traceback cut off before its exception line, no record
    return f"{where} [{rule}] {said} {verdict}"


def cmd_test_notify(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from logwatch.errors import DeliveryError
    from logwatch.model import Severity
    from logwatch.testing import sample_alert

    config = _load(args)
    if args.notifier not in config.notifiers:
        print(
            f"no notifier {args.notifier!r}; configured: {', '.join(config.notifiers)}",
            file=sys.stderr,
        )
        return 1

    async def send() -> int:
        _without_httpx_cli()
        import httpx

        from logwatch.daemon.runner import build_notifiers
        from logwatch.notifiers._http import new_client

        # the daemon's client (logwatch/daemon/sender.py): same timeout, TLS and redirects,
        # so a test sends as the daemon would
        async with new_client(httpx.Timeout(config.delivery.timeout)) as client:
            notifier = build_notifiers(config, client)[args.notifier]
            try:
                receipt = await notifier.send(
                    sample_alert(
                        id=f"test-notify-{int(time.time())}",
                        rule="test-notify",
                        severity=Severity.INFO,
                        title="logwatch test alert: ignore me",
                        host=config.host,
                        labels=dict(config.labels),
                    )
                )
            except DeliveryError as exc:
                print(f"{args.notifier}: failed: {exc}")
                return 1
            finally:
                await notifier.aclose()
        status = "" if receipt.status is None else f"HTTP {receipt.status} "
        print(f"{args.notifier}: delivered: {status}{receipt.detail}".rstrip())
        return 0

    return asyncio.run(send())


def cmd_status(args: argparse.Namespace) -> int:
    from logwatch.errors import StateError
    from logwatch.status import collect_status, render_status

    state_dir = _state_dir(args)
    try:
        status = collect_status(state_dir, config=_config_path(args))
    except StateError as exc:
        # most often: the state belongs to the service's user and we are not root
        print(f"logwatch: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(_unreadable_state(state_dir, exc), file=sys.stderr)
        return 1
    print(json.dumps(status, indent=2) if args.json else render_status(status))
    if "silences_unreachable" in status:
        _say_unreachable(status["silences_unreachable"])  # status reports; it does not fail
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    import time

    from logwatch.errors import StateError
    from logwatch.store import DB_NAME, Store

    state_dir = _state_dir(args)
    try:
        if not (state_dir / DB_NAME).exists():
            # opening it would create it, owned by whoever asked, before the daemon ever ran
            print(f"no state yet in {state_dir}: the daemon has not run here")
            return 0
        store = Store.in_dir(state_dir)
    except StateError as exc:
        print(f"logwatch: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(_unreadable_state(state_dir, exc), file=sys.stderr)
        return 1
    try:
        if args.outbox_command == "retry":
            asked = set(args.ids)
            if asked:
                dead = {row.id for row in store.outbox("dead", limit=-1)}
                unknown = sorted(asked - dead)
                if unknown:
                    # a typo'd id would otherwise look like a retry that found nothing to do
                    names = ", ".join(map(str, unknown))
                    print(f"logwatch: no dead letter with id {names}", file=sys.stderr)
            count = store.requeue(args.ids, time.time())
            print(f"requeued {count} dead letter(s)")
            return 1 if asked and count < len(asked) else 0
        rows = store.outbox(args.state, args.limit)
        for row in rows:
            alert = row.alert()
            error = f"  last error: {row.last_error}" if row.last_error else ""
            if row.folded_into is not None:
                # held back by the notifier's rate limit: sent as part of that digest row
                error = f"  folded into #{row.folded_into}"
            print(f"{row.id:>6} {row.state:<7} {row.notifier:<12} attempts={row.attempts}"
                  f"  {alert.title}{error}")
        return 0
    finally:
        store.close()


def cmd_test(args: argparse.Namespace) -> int:
    from logwatch.config import load_config
    from logwatch.ruletest import RuleTestError, run_file

    # it sends nothing: the notifiers' secrets may be missing here (a CI job)
    default = (lambda: load_config(_config_path(args), sends=False)) if args.config else None
    passed = failed = 0
    for name in args.files:
        try:
            results = run_file(Path(name), default)
        except RuleTestError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        for result in results:
            if result.passed:
                passed += 1
                print(f"ok    {name}: {result.name}")
            else:
                failed += 1
                print(f"FAIL  {name}: {result.name}\n{result.diff}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_silence(args: argparse.Namespace) -> int:
    import re
    from datetime import UTC, datetime, timedelta

    from logwatch.config import parse_duration
    from logwatch.errors import ConfigError, StateError
    from logwatch.rules import parse_matcher
    from logwatch.silencing import Silences

    try:
        state_dir = _state_dir(args)
        silences = Silences.open(_config_path(args), state_dir)
    except ConfigError as exc:
        _print_config_error(exc)
        return 2
    except StateError as exc:
        print(f"logwatch: {exc}", file=sys.stderr)
        return 1
    now = datetime.now(UTC)
    try:
        if args.silence_command == "add":
            try:
                # parsed as routes are: amtool's quoted `host=~"web-.*"` must match web-1
                matchers = [parse_matcher(text) for text in args.match]
                if re.fullmatch(r"\s*[0-9.]+\s*", args.duration):
                    # `--for 2` meant 2h or 2d more often than 2 seconds, which end unseen
                    raise ValueError(f"--for {args.duration}: give a unit, as in"
                                     f" {args.duration.strip()}m or {args.duration.strip()}h")
                ends_at = now + timedelta(seconds=parse_duration(args.duration))
                silence = silences.add(
                    matchers,
                    starts_at=now,
                    ends_at=ends_at,
                    comment=args.comment,
                    created_by=args.author or _who(),
                )
            except ValueError as exc:
                print(f"logwatch: {exc}", file=sys.stderr)
                return 2
            known = _known_labels(args)
            for matcher in matchers:
                if known is not None and matcher.name not in known:
                    print(f"warning: no alert carries the label {matcher.name!r}; known: "
                          f"{', '.join(sorted(known))}", file=sys.stderr)
            print(silence.id)
            if silences.unreachable is not None:
                # kept here all the same: this host's daemon publishes what its state dir holds
                print(f"logwatch: added on this host only, the fleet's silences are out of reach"
                      f" ({silences.unreachable}); the fleet gets it when this host's daemon"
                      " runs and Redis answers", file=sys.stderr)
            return 0
        if args.silence_command == "expire":
            chosen = _silence_id(args.id, [item.id for item in silences.list(now)])
            if chosen is None:
                return 1
            args.id = chosen
            ended = silences.expire(args.id, now)
            why = silences.unreachable
            if not ended:
                if why is None:
                    print(f"logwatch: no active silence {args.id!r}", file=sys.stderr)
                else:
                    print(f"logwatch: no active silence {args.id!r} on this host, and the"
                          f" fleet's silences are out of reach ({why})", file=sys.stderr)
                return 1
            print(f"expired {args.id}")
            if why is not None:
                # its daemon publishes the shorter end, which wins, once Redis answers
                print(f"logwatch: ended on this host only, the fleet's silences are out of"
                      f" reach ({why}); this host's daemon tells the fleet once Redis"
                      " answers", file=sys.stderr)
            return 0
        listed = silences.list(now, include_expired=args.all)
        for item in listed:
            if args.json:
                print(json.dumps(item.record(now)))
                continue
            shown = " ".join(str(m) for m in item.matchers)
            until = item.ends_at.isoformat(timespec="seconds")
            made_on = f"  on {item.host}" if item.host else ""
            print(f"{item.id}  {item.state(now):<7}  until {until}{made_on}  {shown}"
                  f"  {item.comment}")
        # a partial list, like a replay with a file it could not read
        return _say_unreachable(silences.unreachable)
    finally:
        silences.close()


_MIN_ID_PREFIX = 6


def _silence_id(given: str, active: Sequence[str]) -> str | None:
    """The id ``given`` stands for: itself, or the one active id it begins (as git takes a
    short commit id; six characters at least). None: several begin with it (said)."""
    if given in active or len(given) < _MIN_ID_PREFIX:
        return given
    found = sorted({silence_id for silence_id in active if silence_id.startswith(given)})
    if len(found) > 1:
        print(f"logwatch: {len(found)} active silences begin with {given!r}: "
              f"{', '.join(found)}; give more of the id", file=sys.stderr)
        return None
    return found[0] if found else given


def _say_unreachable(why: str | None) -> int:
    """Say on stderr that only this host's silences were seen; 1 when so, else 0."""
    if why is None:
        return 0
    print(f"logwatch: the fleet's silences are out of reach, only this host's are shown"
          f" ({why})", file=sys.stderr)
    return 1


def _who() -> str:
    """Who runs this: behind `sudo`, the operator, not root."""
    import getpass

    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):  # a uid with no name (a container's)
        return ""


def _known_labels(args: argparse.Namespace) -> set[str] | None:
    """The labels alerts can carry, where the config's labels and rules validate here
    (without the secrets of the daemon's environment file); None: unknown."""
    from logwatch.config.loader import load_label_config
    from logwatch.errors import ConfigError

    try:
        return _label_names(load_label_config(_config_path(args)))
    except ConfigError:
        return None  # say nothing rather than warn of labels it cannot see


def _unreadable_state(state_dir: Path, exc: OSError) -> str:
    return (f"logwatch: cannot read the state dir {state_dir}: {exc.strerror or exc}; it belongs"
            " to the daemon's user: run this as that user or as root (sudo)")


def _label_names(config: Config) -> set[str]:
    """Every label an alert of this config can carry: its fields and the configured labels."""
    from logwatch.model import Severity
    from logwatch.rules import alert_labels
    from logwatch.testing import sample_alert

    names = set(alert_labels(sample_alert(severity=Severity.ERROR, labels={})))
    names.update(config.labels)
    for rule in config.rules:
        names.update(rule.labels)
    return names


def cmd_schema(args: argparse.Namespace) -> int:
    from logwatch.config import config_schema

    print(json.dumps(config_schema(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logwatch",
        description="Turn the exceptions in log files into alerts people act on.",
    )
    env_file_help = (
        "variables for ${NAME} in the config, from a file in the syntax of systemd's"
        " EnvironmentFile= (the service's /etc/logwatch/env); they override the environment's,"
        " and a later file's an earlier one's; repeatable"
    )
    # One dest for each level: a subcommand's parser would replace the list the level above made.
    parser.add_argument("--env-file", dest="env_files", action="append", default=[],
                        metavar="FILE", help=env_file_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, help_text: str, *, otherwise: str = DEFAULT_CONFIG
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "-c", "--config", help=f"config file (default: $LOGWATCH_CONFIG, then {otherwise})",
        )
        sub.add_argument("--env-file", dest="command_env_files", action="append", default=[],
                         metavar="FILE", help=env_file_help)
        return sub

    run = command("run", "run the daemon: tail, assemble, apply rules, deliver")
    # the config's log_level takes the same names
    run.add_argument("--log-level", type=str.lower,
                     choices=["debug", "info", "warning", "error", "critical"],
                     help="overrides the config's log_level (default: info)")
    run.set_defaults(func=cmd_run)

    command("check", "validate the config; print ok or every problem").set_defaults(
        func=cmd_check
    )

    replay = command(
        "replay", "print what would be sent for these files (no state, no network)",
        otherwise="a built-in one: every traceback and ERROR/CRITICAL record to the console",
    )
    replay.add_argument("--json", action="store_true", help="one JSON object per line")
    replay.add_argument("--events", action="store_true", help="every event, alerting or not")
    replay.add_argument("files", nargs="+", metavar="FILE", help="log files; - for stdin")
    replay.set_defaults(func=cmd_replay)

    test_notify = command("test-notify", "send one sample alert through a notifier")
    test_notify.add_argument("notifier", metavar="NOTIFIER")
    test_notify.set_defaults(func=cmd_test_notify)

    status = command("status", "what the daemon's state directory knows (and the fleet's"
                              " silences, with state backend redis)")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    outbox = command("outbox", "inspect the delivery outbox; requeue dead letters")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    outbox_list = outbox_commands.add_parser("list", help="recent outbox rows")
    outbox_list.add_argument("--state", choices=["pending", "sent", "dead", "folded"])
    outbox_list.add_argument("--limit", type=int, default=50)
    outbox_retry = outbox_commands.add_parser("retry", help="requeue dead letters (all by default)")
    outbox_retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    for sub in (outbox_list, outbox_retry):
        # `logwatch outbox list -c CFG` as well as `logwatch outbox -c CFG list`
        sub.add_argument("-c", "--config", default=argparse.SUPPRESS,
                         help=f"config file (default: $LOGWATCH_CONFIG, then {DEFAULT_CONFIG})")
        sub.add_argument("--env-file", dest="action_env_files", action="append", default=[],
                         metavar="FILE", help=env_file_help)
    outbox.set_defaults(func=cmd_outbox)

    test = command("test", "rule unit tests: log text in, expected alerts out, diff on failure")
    test.add_argument("files", nargs="+", metavar="FILE", help="test files (YAML)")
    test.set_defaults(func=cmd_test)

    silence = command(
        "silence", "mute matching alerts for a while (applied live by the daemon; with"
        " state backend redis, by every daemon sharing it)",
    )
    silence_commands = silence.add_subparsers(dest="silence_command", required=True)
    silence_add = silence_commands.add_parser(
        "add", help="add a silence; prints its id",
        description="Matchers: NAME=VALUE, NAME!=VALUE, NAME=~REGEX, NAME!~REGEX (regexes"
        " match the whole value) on rule, severity, host, source, file, exc_type,"
        " fingerprint, level, logger and the labels. The silence is kept in this host's"
        " state dir; with state backend redis it is also published to the fleet at once,"
        " whether or not this host's daemon runs. When Redis cannot be reached, stderr says"
        " so and the fleet gets it when this host's daemon runs and Redis answers (exit 0).",
    )
    silence_add.add_argument("--match", action="append", required=True, metavar="MATCHER",
                             help="e.g. rule=db-down; repeat for more (all must hold)")
    silence_add.add_argument("--for", dest="duration", required=True, metavar="DURATION",
                             help="how long: 30m, 2h, 1d")
    silence_add.add_argument("--comment", required=True, help="why; shown by silence list")
    silence_add.add_argument("--author", help="who (default: the user, also behind sudo)")
    silence_list = silence_commands.add_parser(
        "list", help="active and pending silences",
        description="Active and pending silences: this host's, and with state backend redis"
        " every host's, each with the host that holds it. When Redis cannot be reached,"
        " this host's are listed, stderr says so and the exit status is 1.",
    )
    silence_list.add_argument("--all", action="store_true", help="expired ones too")
    silence_list.add_argument("--json", action="store_true", help="one JSON object per line")
    silence_expire = silence_commands.add_parser(
        "expire", help="end a silence now",
        description="End a silence now; with state backend redis, one made on any host, for"
        " every host. When Redis cannot be reached, only one of this host's can be ended"
        " (its daemon tells the fleet once Redis answers).",
    )
    silence_expire.add_argument(
        "id", metavar="ID", help="as `silence list` shows it, or its first characters (6 or more)"
    )
    for sub in (silence_add, silence_list, silence_expire):
        # `logwatch silence add -c CFG ...` as well as `logwatch silence -c CFG add ...`
        sub.add_argument("-c", "--config", default=argparse.SUPPRESS,
                         help="config file (default: $LOGWATCH_CONFIG, then "
                              f"{DEFAULT_CONFIG})")
        sub.add_argument("--env-file", dest="action_env_files", action="append", default=[],
                         metavar="FILE", help=env_file_help)
    silence.set_defaults(func=cmd_silence)

    command("schema", "print the JSON Schema of the config").set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from logwatch.errors import ConfigError

    args = build_parser().parse_args(argv)
    try:
        _apply_env_files(_env_files(args))  # before anything reads the environment
        return int(args.func(args))
    except ConfigError as exc:
        # every command that reads a config reports its problems the same way
        _print_config_error(exc)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `logwatch replay ... | head` closed our stdout: not an error
        return 0


if __name__ == "__main__":
    sys.exit(main())
