"""The redactor's gates skip only texts a pattern could not have changed.

Each pattern runs only on texts that pass its gate (a substring every match
holds, a character run every match makes). These tests hold the gated
redactor to the plain one, every pattern applied in turn to the whole text,
on texts made of secrets in every shape the patterns know, cut, joined and
re-cased.
"""

from __future__ import annotations

import re
import sys
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch.rules import Redactor
from logwatch.rules import redact as redact_module
from logwatch.rules.redact import _DEFAULTS, _folded, _mask_groups, _user_rule

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "-----END RSA PRIVATE KEY-----"
)

SECRETS = [
    # URLs with a password
    "postgres://app:hunter2@db:5432/shop",
    "redis://:s3cret@cache:6379/0",
    "x+y.z://a:b@c",
    "amqp://guest:gu@st@rabbit/",
    "smtp://ops@example.com:pw@mail",
    '{"url":"redis://u:p@ss@cache","owner":"ops@example.com"}',
    "'x://a:b'",
    "postgres://app:cut",
    "postgres://app:cut\r",
    # Authorization headers, bare and quoted
    "Authorization: Basic dXNlcjpwYXNz",
    "authorization=abcdef",
    'Proxy-Authorization: Digest username="u", response="abc"',
    "{'Authorization': 'Bearer abc', 'Host': 'h'}",
    '"authorization": "Token t0k"',
    "Authorization :\n  Basic x",
    "proxy-authorization='",
    # bearer tokens and JWTs
    "Bearer abc.DEF-123_x~+/=",
    "bearer\tzzz==",
    JWT,
    "eyJa.eyJb.",
    "eyJa.eyJb",
    # a Telegram bot token alone
    "123456789:AAfake-telegram-token_for-tests-000",
    # key=value in every quoting
    "password=hunter2",
    "passwd=x1&next=2",
    "pwd = abc",
    "secret=abc;",
    "token=t0k3n",
    "api_key=AIzaSyA",
    "api-key: k3y",
    "apikey=z",
    "db_password=hunter2",
    '{"password": "hunter2", "user": "bob"}',
    "{'token': 'abc def', 'n': 1}",
    "password: hunter2",
    'token="unterminated',
    "secret='a\\'b'",
    "secret_key\"  :  'x\"y'",
    "Password:\n\thunter2",
    "token=***",
    # cloud keys
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAIOSFODNN7EXAMPLE",
    "A3T7IOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX",
    # private keys, whole and cut off
    PEM,
    "-----BEGIN PRIVATE KEY-----\nMIIEvQ\nMIIE (cut)",
    "-----BEGIN EC PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----\nMIIE\n... logwatch: 9 lines elided ...\nMIIE",
    # and the tail of one whose BEGIN line was elided
    "... logwatch: 9 lines elided ...\nMIIE\n  QUJD==\n  -----END RSA PRIVATE KEY-----",
    "key: MIIE\nAB-----END PRIVATE KEY-----",
    # card numbers, and numbers that are not
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "378282246310005",
    "4222222222222",
    "4222 2222-22222",
    "4111111111111112",
    "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
    "4111  1111 1111 1111",
    "\u0664\u0661\u0661\u0661" * 4,  # Arabic-Indic digits: \d takes them too
    # letters IGNORECASE takes for ASCII ones
    "\u017fecret=x",
    "to\u212aen=abc",
    "api\u212aey=v",
    "author\u0130zation: x",
    "author\u0131zation=y",
    "pa\u017f\u017fword=z",
]
NOISE = [
    "\n",
    "\r\n",
    " ",
    "    ",
    "-",
    "=",
    ":",
    '"',
    "'",
    "@",
    "/",
    ",",
    ";",
    "\t",
    "12",
    "0",
    "A",
    "\u00e9",
    "\u03a3",
    "a" * 39,
    "Ab1/" * 10,
    'File "/srv/app/payments.py", line 110, in handle',
    "2026-03-01 00:00:00,003 ERROR shop.worker payment failed for order 1003",
    "KeyError: 'token'",
    "Traceback (most recent call last):",
    "http://0.0.0.0:8080",
    "mongodb://db1:27017,db2:27017",
    "12:30:45",
    "1234567:Accepted",
]
CASES: list[Callable[[str], str]] = [str, str.lower, str.upper, str.swapcase, str.title]
ALPHABET = "aAkKsSiIeEyYjJ0149 -=:/@.+_\"'\n\u017f\u212a\u0130\u0131\u0664"

fragments = st.one_of(
    st.tuples(st.sampled_from(SECRETS + NOISE), st.sampled_from(CASES)).map(
        lambda pair: pair[1](pair[0])
    ),
    # a secret cut short, as a truncated event leaves it
    st.tuples(st.sampled_from(SECRETS), st.integers(0, 80)).map(lambda pair: pair[0][: pair[1]]),
    st.text(alphabet=ALPHABET, max_size=12),
)
texts = st.lists(fragments, max_size=10).map("".join)

USER_PATTERNS = [
    re.compile(r"session=(\w+)/(\w+)"),
    re.compile(r"ssn \d{3}-\d{2}-\d{4}"),
    re.compile(r"(?i)internal[-_]key:\s*(\S+)"),
    re.compile(r"KEY-[A-Z]{4}", re.IGNORECASE),
    re.compile(r"\d{5}"),  # no literal: runs on every text
    re.compile(r"begin\nsecret"),  # its literal spans lines
    re.compile(r"=\*\*\* "),  # matches only once a built-in pattern has masked
]
user_fragments = st.sampled_from(
    [
        "session=abc/def",
        "SESSION=abc/def",
        "ssn 078-05-1120",
        "Internal_Key:  zz",
        "INTERNAL-\u212aEY: q",
        "key-abcd",
        "\u212aEY-WXYZ",
        "12345",
        "begin\nsecret",
        "password=hunter2 ",
    ]
)
user_texts = st.lists(st.one_of(fragments, user_fragments), max_size=10).map("".join)

SETTINGS = settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def plain(text: str, patterns: list[re.Pattern[str]] | None = None) -> str:
    """Every pattern applied in turn to the whole text, as the redactor did before its gates."""
    rules = [(rule.pattern, rule.replace) for rule in _DEFAULTS]
    rules += [(pattern, _mask_groups) for pattern in patterns or []]
    for pattern, replace in rules:
        text = pattern.sub(replace, text)
    return text


GATED = Redactor()
GATED_USER = Redactor(USER_PATTERNS)


@SETTINGS
@given(texts)
def test_gated_redactor_masks_exactly_what_the_plain_patterns_mask(text: str) -> None:
    assert GATED(text) == plain(text)


@SETTINGS
@given(texts)
def test_each_gate_passes_every_text_its_pattern_matches(text: str) -> None:
    """Each gate alone, not only their sum: an earlier pattern cannot hide a bad later gate."""
    passed = Redactor()._mask(text)
    for index, rule in enumerate(_DEFAULTS):
        if rule.pattern.search(text):
            assert passed >> index & 1, rule.pattern.pattern


@SETTINGS
@given(user_texts)
def test_user_patterns_are_gated_on_their_literals_only(text: str) -> None:
    assert GATED_USER(text) == plain(text, USER_PATTERNS)


@pytest.mark.parametrize("text", [*SECRETS, "\n".join(SECRETS), " ".join(SECRETS)])
def test_each_secret_shape_is_redacted_as_by_the_plain_patterns(text: str) -> None:
    for case in CASES:
        assert GATED(case(text)) == plain(case(text))


def test_a_full_cache_is_emptied_and_filled_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact_module, "_CACHE_BYTES", 600)
    redactor = Redactor()
    lines = [*SECRETS, *NOISE] * 2
    for line in lines:
        assert redactor(line) == plain(line)
        assert redactor._cached_bytes <= 600
    assert redactor("\n".join(lines)) == plain("\n".join(lines))


_DIGIT_SWAPS = [
    str.maketrans("0123456789", swapped) for swapped in ("1234567890", "9999999999", "3333333333")
]


@SETTINGS
@given(user_texts)
def test_lines_differing_only_in_digits_are_each_masked_as_the_plain_patterns(text: str) -> None:
    """What a line passes is remembered by its digits' shape: the digits a gate names
    (the 3 of A3T, an operator's literal) must still tell lines apart."""
    redactor = Redactor([*USER_PATTERNS, re.compile(r"order 1003")])
    for variant in (text, *(text.translate(swap) for swap in _DIGIT_SWAPS)):
        assert redactor(variant) == plain(variant, [*USER_PATTERNS, re.compile(r"order 1003")])


@SETTINGS
@given(user_texts, st.integers(0, 200), st.integers(0, 200), user_texts)
def test_an_events_texts_are_masked_each_as_on_its_own(
    text: str, start: int, size: int, other: str
) -> None:
    """A message cut from the text, or not: the same as masking each of the three."""
    redactor = Redactor(USER_PATTERNS)
    piece = text[start : start + size]
    for message, exc_message in ((piece, None), (piece, other), (other, piece), (text, text)):
        assert redactor.event_texts(text, message, exc_message) == (
            plain(text, USER_PATTERNS),
            plain(message, USER_PATTERNS),
            None if exc_message is None else plain(exc_message, USER_PATTERNS),
        )


def test_a_message_not_cut_from_a_clean_text_is_still_masked() -> None:
    """Decoded from JSON, say: the text holds the escape, the message the secret."""
    text = '{"message": "p\\u0061ssword\\u003dhunter2", "exc": "t\\u006fken\\u003dabc"}'
    redactor = Redactor()
    assert redactor(text) == text  # nothing the gates know, as it stands
    assert redactor.event_texts(text, "password=hunter2", "token=abc") == (
        text, "password=***", "token=***",
    )


def test_a_digit_a_gate_names_still_tells_lines_apart() -> None:
    redactor = Redactor([re.compile(r"order 1003")])
    assert redactor("paid order 2004 with key A4TQWERTYUIOPASDFGHJ") == (
        "paid order 2004 with key A4TQWERTYUIOPASDFGHJ"
    )
    assert redactor("paid order 1003 with key A3TQWERTYUIOPASDFGHJ") == "paid *** with key ***"


def test_first_lines_differing_only_in_time_share_one_remembered_mask() -> None:
    redactor = Redactor()
    for n in range(200):
        redactor(f"2026-03-01 00:00:{n % 60:02d},{n:03d} ERROR app failed for order {n}\n"
                 f"Traceback (most recent call last):\nKeyError: {n}")
    # a few shapes (the 3 of A3T still counts), not 400 first and last lines
    assert len(redactor._masks) < 50


TRACEBACKS = [
    'Traceback (most recent call last):\n  File "/srv/app.py", line 3, in f\nKeyError: 1',
    "Traceback (most recent call last):\n  File \"/srv/db.py\", line 9, in connect\n"
    "OperationalError: postgres://app:hunter2@db/shop",
    *(f"{noise}\n{secret}" for noise, secret in zip(NOISE, SECRETS, strict=False)),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(texts, st.sampled_from(TRACEBACKS), texts), min_size=1, max_size=6))
def test_remembered_stacks_between_new_first_and_last_lines_mask_as_the_plain_patterns(
    events: list[tuple[str, str, str]],
) -> None:
    """The same lines between a first and a last line that differ: what is remembered holds."""
    for head, stack, last in events:
        for text in (f"{head}\n{stack}", f"{head}\n{stack}\n{last}", f"{stack}\n{last}"):
            assert GATED(text) == plain(text)


def test_the_cache_holds_what_its_bound_says_whatever_the_texts() -> None:
    """The bound counts what entries cost: wide characters and slots, not only their number."""
    redactor = Redactor()
    wide = "\U0001f600" * 300
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(2_000):
            redactor(f"{n} {wide}\n{wide} {n}\nKeyError: {n}")
            redactor(f"line {n}")
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert redactor._cached_bytes <= redact_module._CACHE_BYTES
    assert held < 2 * redact_module._CACHE_BYTES


def test_every_letter_ignorecase_takes_for_ascii_is_folded_to_it() -> None:
    """Over all of Unicode: ``_folded`` turns each character IGNORECASE equates with an
    ASCII character into that character, lower-cased, so an ASCII gate finds it."""
    everything = "".join(chr(code) for code in range(128, sys.maxunicode + 1))
    for code in range(128):
        ascii_char = chr(code)
        for match in re.finditer(re.escape(ascii_char), everything, re.IGNORECASE):
            assert _folded(match[0]) == ascii_char.lower(), hex(ord(match[0]))


def test_user_pattern_gates_come_from_its_literals() -> None:
    assert _user_rule(re.compile(r"session=(\w+)")).exact == ("session=",)
    assert _user_rule(re.compile(r"Session=(\w+)", re.IGNORECASE)).folded == ("session=",)
    assert not _user_rule(re.compile(r"\d{5}")).gated
    # gates look at one line: the longest piece between line breaks
    assert _user_rule(re.compile(r"begin\nsecret")).exact == ("secret",)


def test_text_without_any_secret_comes_back_unchanged() -> None:
    text = 'Traceback (most recent call last):\n  File "/srv/app.py", line 3, in f\nKeyError: 1'
    assert GATED(text) is text
