"""The traceback corpus: its truth is what CPython printed; the assembler is scored on it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from logwatch.model import Event, ExceptionInfo, Origin
from tests.corpus import Case, Corpus, ExpectedEvent, Interpreter, find_interpreters, shortage
from tests.corpus.gen import main as gen_main
from tests.corpus.gen import scenario_names
from tests.corpus.score import assemble_with_logwatch, score, score_case

QUIET = {"s32_print_stack", "s33_warnings", "s46_faulthandler"}  # scenarios with no event
REQUIRED_EXACT = 0.99


def span_lines(case: Case, expected: ExpectedEvent) -> list[str]:
    """The lines of an expected event; a JSON record contributes its string fields' lines."""
    lines = case.log_path.read_text("utf-8").splitlines()[
        expected.first_line - 1 : expected.last_line
    ]
    shown: list[str] = []
    for line in lines:
        record = json.loads(line) if line.startswith("{") else None
        if isinstance(record, dict):
            shown += [
                part
                for value in record.values()
                if isinstance(value, str)
                for part in value.split("\n")
            ]
        else:
            shown.append(line)
    return shown


class TestCorpusTruth:
    def test_every_scenario_ran_under_every_interpreter(self, corpus: Corpus) -> None:
        """Each scenario left a log per CPython, or said why it does not apply there."""
        for python in corpus.interpreters:
            ran = {case.scenario for case in corpus.cases if case.python == python.tag}
            skipped = {item.scenario for item in corpus.skipped if item.python == python.tag}
            assert ran | skipped == set(scenario_names()), python
            assert not ran & skipped

    def test_only_exception_groups_are_skipped_and_only_before_3_11(self, corpus: Corpus) -> None:
        """A version may lack a feature (ExceptionGroup); nothing else excuses a scenario."""
        for item in corpus.skipped:
            assert "ExceptionGroup" in item.reason
            assert tuple(map(int, item.python.split("."))) < (3, 11)

    def test_every_scenario_but_the_quiet_ones_expects_events(self, corpus: Corpus) -> None:
        """print_stack, warnings and faulthandler dumps write text but no exception event."""
        for case in corpus.cases:
            assert case.log_path.stat().st_size > 0, case.name
            assert bool(case.events) != (case.scenario in QUIET), case.name

    def test_the_printed_exception_line_lies_inside_each_span(self, corpus: Corpus) -> None:
        """The type and message recorded from the live exception are what CPython printed."""
        wrong = []
        for case in corpus.cases:
            for expected in case.events:
                line = expected.exc_type + (
                    f": {expected.exc_message}" if expected.exc_message else ""
                )
                shown = [text.lstrip(" |").rstrip() for text in span_lines(case, expected)]
                if line.rstrip() not in shown:
                    wrong.append(
                        f"{case.name} lines {expected.first_line}-{expected.last_line}: {line}"
                    )
        assert not wrong, "\n".join(wrong)

    def test_spans_are_whole_records_in_file_order(self, corpus: Corpus) -> None:
        """Spans never overlap, and the last type of each chain is the exception raised."""
        for case in corpus.cases:
            previous = 0
            for expected in case.events:
                assert previous < expected.first_line <= expected.last_line, case.name
                assert expected.chain[-1] == expected.exc_type, case.name
                previous = expected.last_line

    def test_printers_differ_across_versions_as_recorded(self, corpus: Corpus) -> None:
        """3.8-3.10's C printer keeps "__main__.", 3.8's drops outer classes; 3.12 logs hints."""
        by_name = {case.name: case for case in corpus.cases}

        def types(scenario: str, python: str) -> list[str]:
            case = by_name.get(f"{scenario}@{python}")
            return [] if case is None else [event.exc_type for event in case.events]

        def messages(scenario: str, python: str) -> list[str]:
            case = by_name.get(f"{scenario}@{python}")
            return [] if case is None else [event.exc_message for event in case.events]

        if "s34_str_failure@3.10" in by_name:
            assert types("s34_str_failure", "3.10")[1:] == ["__main__.Weird", "__main__.Weird"]
        if "s34_str_failure@3.11" in by_name:
            assert set(types("s34_str_failure", "3.11")) == {"Weird"}
        if "s35_qualified_types@3.8" in by_name:
            assert types("s35_qualified_types", "3.8")[-1] == "pkg.errors.PaymentError"
            assert types("s35_qualified_types", "3.8")[0] == "pkg.errors.Outer.PaymentError"
        if "s38_did_you_mean@3.12" in by_name:
            assert messages("s38_did_you_mean", "3.12")[0].endswith("Did you mean: 'value'?")
        if "s38_did_you_mean@3.11" in by_name:
            assert messages("s38_did_you_mean", "3.11")[0] == "name 'valeu' is not defined"


class TestInterpreters:
    def test_listed_interpreters_are_probed_and_one_kept_per_minor_version(
        self, tmp_path: Path
    ) -> None:
        """LOGWATCH_CORPUS_PYTHONS names the interpreters; duplicates and non-Pythons drop out."""
        not_python = tmp_path / "python"
        not_python.write_text("#!/bin/sh\necho PyPy 3 10 0\n", "utf-8")
        not_python.chmod(0o755)
        listed = [sys.executable, sys.executable, str(not_python), str(tmp_path / "missing")]

        found = find_interpreters({"LOGWATCH_CORPUS_PYTHONS": os.pathsep.join(listed)})

        assert [python.version for python in found] == [sys.version_info[:3]]

    def test_fewer_than_two_versions_is_a_shortage_that_says_how_to_fix_it(self) -> None:
        """One CPython cannot show version differences: the reason names what to install."""
        one = [Interpreter((3, 12, 1), "python3.12")]
        two = [*one, Interpreter((3, 8, 18), "python3.8")]

        reason = shortage(one)

        assert reason is not None
        assert "found: 3.12.1" in reason
        assert "pyenv install" in reason
        assert "LOGWATCH_CORPUS_PYTHONS" in reason
        assert shortage(two) is None


class TestCorpusCommand:
    def test_gen_writes_a_corpus_that_loads_back(self, tmp_path: Path) -> None:
        """`python -m tests.corpus.gen OUTDIR` writes logs, truth files and a manifest."""
        status = gen_main(
            [str(tmp_path), "--scenario", "s21_logger_exception", "--python", sys.executable]
        )

        loaded = Corpus.load(tmp_path)
        assert status == 0
        assert [case.scenario for case in loaded.cases] == ["s21_logger_exception"]
        assert len(loaded.cases[0].events) == 4
        assert loaded.cases[0].log_path.is_file()


def event(first: int, last: int, *types: str, message: str = "boom") -> Event:
    chain = tuple(ExceptionInfo(type=name, message=message) for name in types)
    return Event(Origin("corpus", "x.log"), first, last, 0, 0, "", "", chain=chain)


def expected(first: int, last: int, exc_type: str, message: str = "boom") -> ExpectedEvent:
    return ExpectedEvent(first, last, exc_type, message, (exc_type,), "an edge case")


CASE = Case(
    "s99_example",
    "3.12",
    Path("s99_example.log"),
    (expected(3, 9, "ValueError"), expected(12, 20, "KeyError")),
)


class TestScoring:
    def test_same_lines_type_and_message_is_exact(self) -> None:
        """An expected event is matched by lines, type and message; plain records are ignored."""
        result = score_case(
            CASE, [event(1, 1), event(3, 9, "ValueError"), event(12, 20, "KeyError"), event(21, 21)]
        )
        assert (result.exact, result.misses, result.spurious) == (2, (), ())

    def test_a_split_event_is_a_miss_of_kind_split(self) -> None:
        """Two traceback events inside one expected span are one miss, classed "split"."""
        result = score_case(
            CASE, [event(3, 9, "ValueError"), event(12, 15, "KeyError"), event(16, 20, "KeyError")]
        )
        assert result.exact == 1
        assert [miss.kind for miss in result.misses] == ["split"]
        assert result.spurious == ()

    def test_a_missed_header_and_a_wrong_message_are_told_apart(self) -> None:
        """The failure class says what to fix: the header line, or the message."""
        result = score_case(
            CASE, [event(4, 9, "ValueError"), event(12, 20, "KeyError", message="other")]
        )
        assert [miss.kind for miss in result.misses] == ["header line missed", "wrong message"]

    def test_a_traceback_where_none_was_expected_is_spurious(self) -> None:
        """A traceback event overlapping no expected span is spurious."""
        result = score_case(CASE, [event(3, 9, "ValueError"), event(10, 11, "RuntimeError")])
        assert len(result.spurious) == 1
        assert result.spurious[0].first_line == 10

    def test_the_report_names_scenario_python_lines_and_class(self) -> None:
        """A failing score prints, per scenario, what was expected and what came out."""
        corpus = Corpus(Path(), (), (CASE,))
        result = score(corpus, lambda _path: [event(3, 9, "ValueError"), event(13, 20, "KeyError")])
        report = result.report()
        assert result.ratio == 0.5
        assert "1/2 exact (50.00%)" in report
        assert "s99_example: 1 missed on 3.12" in report
        assert "expected lines 12-20 KeyError: 'boom'" in report
        assert "got      lines 13-20 KeyError: 'boom'" in report
        assert "[header line missed]" in report


class TestAssemblerOnCorpus:
    def test_assembler_is_exact_on_99_percent_with_no_spurious_event(self, corpus: Corpus) -> None:
        """Across every scenario and CPython, events come out with the exact lines and exception."""
        pytest.importorskip("logwatch.multiline", reason="the assembler is not written yet")

        result = score(corpus, assemble_with_logwatch)

        print(result.summary())  # the score, for whoever runs pytest -s
        spurious, ratio = len(result.spurious), result.ratio  # plain numbers in pytest's diff
        assert spurious == 0, result.report()
        assert ratio >= REQUIRED_EXACT, result.report()
