"""Untrusted-text helpers: escaping for Slack and terminals, cutting to a budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from logwatch.notifiers.escaping import (
    ZERO_WIDTH_SPACE,
    cut_end,
    cut_middle,
    defuse_backticks,
    printable,
    slack_escape,
)


class TestSlackEscape:
    def test_escapes_the_three_control_characters(self) -> None:
        assert slack_escape("a & <b> c") == "a &amp; &lt;b&gt; c"

    def test_existing_entities_are_escaped_again(self) -> None:
        """`&lt;` typed in a log shows as `&lt;`, it does not become a `<`."""
        assert slack_escape("&lt;!here&gt;") == "&amp;lt;!here&amp;gt;"

    @given(st.text())
    def test_output_never_contains_angle_brackets(self, text: str) -> None:
        escaped = slack_escape(text)
        assert "<" not in escaped
        assert ">" not in escaped


class TestBacktickRuns:
    @given(st.text(alphabet="`a\n"))
    def test_no_two_backticks_stay_adjacent(self, text: str) -> None:
        broken = defuse_backticks(text)
        assert "``" not in broken
        assert broken.replace(ZERO_WIDTH_SPACE, "") == text


class TestPrintable:
    def test_keeps_newlines_and_tabs(self) -> None:
        assert printable("a\tb\nc") == "a\tb\nc"

    def test_escapes_c0_and_c1_controls(self) -> None:
        assert printable("\x1b[0m\x00\x7f\x9b") == "\\x1b[0m\\x00\\x7f\\x9b"


class TestCutEnd:
    def test_short_text_is_unchanged(self) -> None:
        assert cut_end("abc", 3) == "abc"

    def test_long_text_keeps_its_start_and_a_marker(self) -> None:
        assert cut_end("abcdef", 4) == "abc…"


class TestCutMiddle:
    def test_fitting_lines_are_unchanged(self) -> None:
        assert cut_middle(["a", "b"], 3, keep_from=1) == ["a", "b"]

    def test_cuts_the_middle_and_counts_the_lines(self) -> None:
        lines = [f"line {n}" for n in range(30)]
        assert cut_middle(lines, 80, keep_from=27) == [
            "line 0",
            "line 1",
            "… 22 lines cut …",
            "line 24",
            "line 25",
            "line 26",
            "line 27",
            "line 28",
            "line 29",
        ]

    @given(
        texts=st.lists(st.text(alphabet="ab ", max_size=40), min_size=1, max_size=80),
        budget=st.integers(min_value=70, max_value=1500),
        data=st.data(),
    )
    def test_fits_the_budget_and_keeps_the_final_line(
        self, texts: list[str], budget: int, data: st.DataObject
    ) -> None:
        """The result fits; it is a head, a marker, then a run through `lines[keep_from]`."""
        lines = [f"{n}:{text}" for n, text in enumerate(texts)]  # unique, to locate them
        keep_from = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))

        kept = cut_middle(lines, budget, keep_from=keep_from)

        assert len("\n".join(kept)) <= budget
        if len("\n".join(lines)) <= budget:
            assert kept == lines
            return
        marker = next(i for i, line in enumerate(kept) if line.endswith(" lines cut …"))
        head, run = kept[:marker], kept[marker + 1 :]
        assert head == lines[: len(head)]
        start = lines.index(run[0])
        assert run == lines[start : start + len(run)]
        assert start <= keep_from < start + len(run)
        assert kept[marker] == f"… {len(lines) - len(head) - len(run)} lines cut …"
