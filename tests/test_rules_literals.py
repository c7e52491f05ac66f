"""The literals a rule's message regex cannot match without (``rules.literals``).

The specification is soundness: a reader passes over every line that holds
none of the literals, so every text the regex can match (``re.search``,
anywhere in a message) must hold at least one of them; folded ones in the
lower-cased text, for ASCII texts (the readers keep any other text whole).
Which literals are chosen among the sound ones only changes how fast.
"""

from __future__ import annotations

import fnmatch
import re

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from logwatch.config import RuleConfig
from logwatch.rules.literals import Literals, message_literals, rule_literals


def holds_one(found: Literals, text: str) -> bool:
    """Whether a reader looking for these literals would keep this text."""
    if found.folded and not text.isascii():
        return True  # case-insensitive literals are only looked for in ASCII text
    data, lowered = text.encode(), text.lower().encode()
    return any(literal in data for literal in found.exact) or any(
        literal in lowered for literal in found.folded
    )


def assert_sound(pattern: str, texts: list[str]) -> Literals | None:
    """Each text matches ``pattern`` and holds one of its literals, if it has any."""
    regex = re.compile(pattern)
    found = message_literals(regex)
    for text in texts:
        assert regex.search(text), (pattern, text)
        if found is not None:
            assert holds_one(found, text), (pattern, text, found)
    return found


def exact(*texts: str) -> Literals:
    return Literals(frozenset(text.encode() for text in texts), frozenset())


def folded(*texts: str) -> Literals:
    return Literals(frozenset(), frozenset(text.encode() for text in texts))


# The rules of the replay benchmark, with texts they match.
BENCHMARK: list[tuple[str, list[str], Literals | None]] = [
    ("could not connect to (database|server)", ["could not connect to server"],
     exact("could not connect to ")),
    ("timed out after [0-9]+ ms", ["upstream timed out after 30000 ms"], exact("timed out after ")),
    ("deadlock detected", ["ERROR: deadlock detected"], exact("deadlock detected")),
    # two scans of 5 and 9 bytes cost less than two of 4 and 5
    ("(disk|quota) (full|exceeded)", ["disk full", "quota exceeded", "xquota fully"],
     exact(" full", " exceeded")),
    ("[Pp]ermission denied", ["Permission denied", "permission denied"],
     exact("ermission denied")),
    ("connection reset by peer", ["connection reset by peer"], exact("connection reset by peer")),
    ("certificate verify failed", ["SSL: certificate verify failed"],
     exact("certificate verify failed")),
    ("[Tt]oo many open files", ["Too many open files"], exact("oo many open files")),
    ("card declined for order [0-9]+", ["card declined for order 42"],
     exact("card declined for order ")),
    ("[Oo]ut of memory", ["Out of memory", "out of memory"], exact("ut of memory")),
]

TRICKY: list[tuple[str, list[str], Literals | None]] = [
    # optional and nested groups
    ("(foo)?bar", ["bar", "foobar"], exact("bar")),
    ("(?:foo)?bar?", ["ba"], None),
    ("x((ab|cd)(ef|gh))y", ["xabghy", "xcdefy"], exact("xabefy", "xabghy", "xcdefy", "xcdghy")),
    # joins stay within one sequence: " full!" is not seen through the group
    ("((disk|quota) (full|exceeded))!", ["disk full!", "quota exceeded!"],
     exact(" full", " exceeded")),
    ("could not (connect|reach)", ["could not reach it"], exact("could not ")),
    # alternation at the top level
    ("timeout|refused", ["timeout", "refused"], exact("timeout", "refused")),
    ("a|bcd", ["a"], None),
    ("ab|cd|efg", ["cd"], None),
    # repeats: the first iterations are back to back
    ("(ab){2,}", ["abab", "ababab"], exact("abab")),
    ("(?:abc)+d", ["abcd", "abcabcd"], exact("abc")),  # not "abcd": it ends the repeat
    ("x{2,}", ["xx"], None),
    ("(?:ab){2}c", ["ababc"], exact("ababc")),
    ("ab(?:cd){0,2}ef", ["abef", "abcdef", "abcdcdef"], exact("abef", "abcdef", "abcdcdef")),
    ("colou?r", ["color", "colour"], exact("colo")),
    # a small class joins its neighbours: "ab" and "ef" alone are too short
    ("ab[cd]ef", ["abcef", "abdef"], exact("abcef", "abdef")),
    ("ab[c-e]f", ["abdf"], exact("abcf", "abdf", "abef")),
    ("ab[^cd]ef", ["abxef"], None),
    (r"ab\def", ["ab1ef"], None),
    # case-insensitive, for the whole pattern or a group: all looked for lower-cased
    ("(?i)Deadlock detected", ["DEADLOCK DETECTED"], folded("deadlock detected")),
    ("(?i)[Pp]ermission denied", ["PERMISSION DENIED"], folded("permission denied")),
    ("(?i:disk) full", ["DiSk full"], folded("disk full")),
    ("(?i)disk (?-i:full)", ["DISK full"], folded("disk full")),
    ("(?i)k\u0131\u017fk", ["KIsK"], None),  # non-ASCII literals are not folded
    # zero-width assertions match no text: their neighbours stay adjacent
    (r"\bdisk\b full", ["disk full"], exact("disk full")),
    (r"^disk full$", ["disk full"], exact("disk full")),
    ("disk(?= full) full", ["disk full"], exact("disk full")),
    ("(?<=my )disk(?! empty) full", ["my disk full"], exact("disk full")),
    # a backreference repeats a text not known here: it joins nothing
    (r"(abc)\1d", ["abcabcd"], exact("abc")),
    (r"(a|b)\1xyz", ["aaxyz"], exact("xyz")),
    # a branch that only contains a literal, or a repeat, cannot be joined on
    (r"(?:diskx\d+|quota) full", ["diskx1 full", "quota full"], exact(" full")),
    (r"(?:diskx\d+|quota)ab", ["diskx1ab", "quotaab"], exact("diskx", "quota")),
    (r"(?:abc|diskx\d)ab", ["diskx1ab"], exact("abc", "diskx")),
    (r"(?:x\d+disk|quota)\d full", ["x1disk2 full", "quota3 full"], exact(" full")),
    (r"(?:x\d+diskette|quotas) fullness", ["x1diskette fullness"], exact(" fullness")),
    (r"(?:ab)+cde", ["abababcde"], exact("cde")),
    (r"(?:disk|quota)+ full", ["diskquota full", "quotadisk full"], exact(" full")),
    ("(?>disk|quota) full", ["disk full"], exact(" full")),
    ("(?:disk|quota)++ full", ["quotaquota full"], exact(" full")),
    ("(?:a|bc)*?def", ["abcdef", "def"], exact("def")),
    # a message is its lines joined by "\n", each stripped: one line holds the longest piece
    (r"upstream failed:\n404", ["upstream failed:\n404"], exact("upstream failed:")),
    ('x\\n  File "/srv/app\\.py"', ['x\n  File "/srv/app.py"'], exact('File "/srv/app.py"')),
    ("(?:a|b)\ncdefgh", ["a\ncdefgh"], exact("cdefgh")),
    # a long literal no line can hold must not stop a shorter one being used
    ("\ufffd\ufffd\ufffd\ufffd\ufffd\\d+abc", ["\ufffd\ufffd\ufffd\ufffd\ufffd1abc"],
     exact("abc")),
    ("(?i)\u017f\u017f\u017f\u017f\u017f\\d+abc", ["SSSSS1ABC"], folded("abc")),
    ("(?:\ufffd|x)yzw", ["xyzw"], exact("yzw")),
    # no usable literal at all
    (r"\d+", ["42"], None),
    (r"(a)?(?(1)abc|def)", ["def", "aabc"], None),
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("\udcffxyz", None), ("\udcffxyz\\d+abc", exact("abc")), ("(?i)\udcffxyz", None)],
)
def test_a_lone_surrogate_gives_no_literal(pattern: str, expected: Literals | None) -> None:
    """YAML lets a config write "\\udcff": no decoded line holds it, nor has it UTF-8 bytes."""
    assert message_literals(re.compile(pattern)) == expected


@pytest.mark.parametrize(("pattern", "texts", "expected"), BENCHMARK + TRICKY)
def test_every_match_holds_a_literal(
    pattern: str, texts: list[str], expected: Literals | None
) -> None:
    """What each regex is searched for by, and texts it matches that must hold one of it."""
    assert assert_sound(pattern, texts) == expected


# --- property: random regexes, random texts they match ---------------------------------------

# Words long enough to be literals, short ones that are not, and pieces that
# match many texts; some words begin or end others, so joins can go wrong.
WORDS = ["disk", "full", "abc", "cab", "bca", "ab", "a", "b", " ", "\n", "."]
# from_regex checks each text with the regex itself, and a backtracking regex
# can take exponential time over nested repeats: so no \b, lookarounds, atomic
# groups or possessive repeats (texts it cannot build exactly, then rejects;
# the table has them), and an unbounded repeat only ever of one atom.
OTHERS = ["[ab]", "[a-c]", "[^ab]", r"\d", "."]
UNBOUNDED = ["*", "+", "{2,}", "+?"]
BOUNDED = ["?", "{2}", "{1,3}", "{0,2}", "??"]


def _regexes() -> st.SearchStrategy[str]:
    atoms = st.one_of(st.sampled_from([re.escape(word) for word in WORDS]), st.sampled_from(OTHERS))
    leaves = st.one_of(
        atoms,
        st.tuples(atoms, st.sampled_from(UNBOUNDED)).map(lambda pair: f"(?:{pair[0]}){pair[1]}"),
    )

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        sequence = st.lists(inner, min_size=2, max_size=4).map("".join)
        return st.one_of(
            sequence,
            sequence,  # twice: most patterns are mostly sequences
            st.lists(inner, min_size=2, max_size=3).map(lambda parts: f"(?:{'|'.join(parts)})"),
            st.tuples(st.sampled_from(["(", "(?:", "(?i:"]), inner).map(
                lambda pair: f"{pair[0]}{pair[1]})"
            ),
            st.tuples(inner, st.sampled_from(BOUNDED)).map(
                lambda pair: f"(?:{pair[0]}){pair[1]}"
            ),
        )

    body = st.lists(st.recursive(leaves, grow, max_leaves=8), min_size=1, max_size=3).map("".join)
    anchors = st.sampled_from(["", "", "^", r"\A"]), st.sampled_from(["", "", "$", r"\Z"])
    return st.tuples(anchors[0], body, anchors[1]).map("".join)


def _joinable() -> st.SearchStrategy[str]:
    """Short words around alternations whose branches may hold more than a word.

    Each word alone is mostly too short to look for, so the literals found are
    mostly joined ones: the cases where joining on the wrong element would show.
    """
    word = st.sampled_from(["ab", "ba", "abc", "cab", "b"])
    noise = st.sampled_from(["", "", ".", r"\d", "[^ab]", "[ab]"])
    branch = st.tuples(noise, word, noise).map("".join)
    group = st.tuples(
        st.lists(branch, min_size=1, max_size=3), st.sampled_from(["", "", "?", "{2}", "+"])
    ).map(lambda pair: f"(?:{'|'.join(pair[0])}){pair[1]}")
    part = st.one_of(word, group, st.sampled_from(["[ab]", "(?i:ab)"]))
    return st.lists(part, min_size=2, max_size=4).map("".join)


def check_random(data: st.DataObject, pattern: str) -> None:
    """Texts the pattern matches, drawn from it: each holds one of its literals."""
    regex = re.compile(pattern)
    found = message_literals(regex)
    event("literals" if found is not None else "none")
    if found is None:
        return  # every line is kept: nothing can be missed
    texts = data.draw(st.lists(st.from_regex(regex, fullmatch=True), min_size=1, max_size=4))
    for text in texts:
        assert holds_one(found, text), (pattern, text, found)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), pattern=_regexes())
def test_random_regexes_find_every_text_they_match(data: st.DataObject, pattern: str) -> None:
    """Whatever the nesting, no text a regex matches lacks all of its literals."""
    check_random(data, pattern)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), pattern=_joinable())
def test_random_joins_find_every_text_they_match(data: st.DataObject, pattern: str) -> None:
    """Literals joined across elements are held by every text the regex matches."""
    check_random(data, pattern)


# --- logger globs -----------------------------------------------------------------------------

GLOB_PARTS = ["app", ".", "db", "celery", "*", "?", "[ab]", "[!x]", "[", "]", "-", "worker"]


def _logger_rule(globs: list[str]) -> RuleConfig:
    return RuleConfig.model_validate(
        {"name": "r", "match": {"logger": globs}, "notify": ["n"]}
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    globs=st.lists(
        st.lists(st.sampled_from(GLOB_PARTS), min_size=1, max_size=5).map("".join),
        min_size=1, max_size=3,
    ),
)
def test_a_logger_glob_finds_every_name_it_matches(data: st.DataObject, globs: list[str]) -> None:
    """A rule on loggers is looked for by their fixed text: every name it matches holds one.

    Names are drawn from each glob's own regex and checked with ``fnmatchcase``,
    as the rule matches them.
    """
    found = rule_literals([_logger_rule(globs)]).literals
    event("literals" if found is not None else "none")
    if found is None:
        return
    for glob in globs:
        name = data.draw(st.from_regex(fnmatch.translate(glob), fullmatch=True))
        assert fnmatch.fnmatchcase(name, glob)
        # the name sits in its header line, among other text
        assert holds_one(found, f"2026-03-01 12:00:00,000 INFO {name} message"), (glob, name)


@pytest.mark.parametrize(
    ("globs", "expected"),
    [
        (["app.db"], exact("app.db")),
        (["app.*", "*.worker"], exact("app.", ".worker")),
        (["[ab]pp.db"], exact("pp.db")),
        (["app.db", "*"], None),  # one glob any name matches: no literal
        (["a?"], None),
    ],
)
def test_logger_globs_give_their_fixed_text(globs: list[str], expected: Literals | None) -> None:
    assert rule_literals([_logger_rule(globs)]).literals == expected
