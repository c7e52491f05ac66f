"""Rules stage, last step: mask secrets in alert text before it leaves the engine.

Log lines are written by programs that never expected a chat room to read
them, so connection strings, headers and tokens end up in tracebacks. The
defaults mask what is common in Python services; operators add their own
patterns. Every replacement keeps the surrounding text (key names, URL hosts,
quotes), so the alert stays readable and it stays clear that something was
masked.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from logwatch.model import Event
from logwatch.multiline.tracebacks import ELISION_PREFIX
from logwatch.rules.literals import message_literals

MASK = "***"

_Replacer = Callable[[re.Match[str]], str]


def _lazy(source: str, flags: int = 0) -> Callable[[], re.Pattern[str]]:
    """The pattern, compiled when first asked for: most texts pass no gate (below),
    and compiling every default pattern was ~2 ms of each start-up."""
    return functools.cache(functools.partial(re.compile, source, flags))


# Log lines are hostile input: every pattern starts at a literal or at the
# start of a character run (lookbehind), and bounds what it scans, so that no
# line makes a pattern re-scan the text from each position (quadratic time).

# Private key blocks first: they span lines, and a cut-off block (a truncated
# event) is masked to the end rather than left half visible; or, where the
# event's middle was elided, to the marker line, behind which the rest of the
# event (and _PEM_TAIL, any tail of the block) is still to be read.
_PEM = _lazy(
    r"-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY)-----.*?"
    r"(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|(?=\n" + re.escape(ELISION_PREFIX) + r")|\Z)",
    re.DOTALL,
)
# A block whose BEGIN line was elided (or read in an earlier event) leaves its
# last base64 lines and its END line. The match starts where a run of base64
# and blank characters starts, so each run is scanned once; a run longer than
# any key is no key's tail.
_PEM_TAIL = _lazy(
    r"(?<![A-Za-z0-9+/= \t\r\n])(?P<run>[A-Za-z0-9+/= \t\r\n]{1,65536})"
    r"-----END (?P<kind>[A-Z0-9 ]{0,64}PRIVATE KEY)-----"
)
# The password runs to the last "@" before the host: people write "@" in
# passwords (and e-mail addresses as user names) unencoded. A URL that opens
# after a quote ends at a quote (a JSON string's "...","owner":"a@b" is no
# password). A line cut off inside the password (longer than max_line_bytes)
# ends the match at the line's end; all digits there are a port (also with
# the punctuation that closes a sentence or a bracket after it: "...:8080."),
# and a comma or colon makes a list of hosts ("h1:27017,h2:27017"), not a password.
_URL_PASSWORD = _lazy(
    # (the cheap test first: most places are inside a word)
    r"(?P<head>(?<![a-zA-Z0-9+.-])(?=[a-zA-Z])(?:(?<=(?P<quote>[\"']))|(?<![\"']))"
    r"[a-zA-Z][a-zA-Z0-9+.-]{0,31}://"
    r"(?(quote)[^:/?#\s\"']{0,256}|[^:/?#\s]{0,256}):)"
    r"(?:(?(quote)[^/?#\s\"']{1,256}|[^/?#\s]{1,256})(?P<tail>@)"
    r"|(?![0-9]{1,256}[.!?)\]>}]{0,8}\r?$)[^@/?#\s,;:\"']{1,256}(?=\r?$))",
    re.MULTILINE,
)
# The scheme word is kept ("Authorization: Basic ***") because it tells the
# reader which kind of credential was sent. A quoted value is masked to its
# closing quote; a bare one to the end of the line, since Digest credentials
# carry quotes and commas of their own.
_AUTHORIZATION = _lazy(
    r"(?P<head>\b(?:(?:proxy-)?authorization|(?:set-)?cookie)\b(?:\\?[\"'])?\s*[:=]\s*)"
    r"(?:(?P<quote>\\?[\"'])(?:(?P<qscheme>[A-Za-z][\w-]*)\s+)?[^\"'\r\n]*(?P=quote)"
    r"|(?:(?P<scheme>[A-Za-z][\w-]*)\s+)?[^\r\n]+)",
    re.IGNORECASE,
)
_BEARER = _lazy(r"(?P<head>\bbearer\s+)(?P<secret>[A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
# The signature may be missing: an unsigned token, or one cut off before it.
_JWT = _lazy(
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"
)
# `key=value`, `key: value`, `"key": "value"` and Python's `'key': 'value'`.
# The match starts at the keyword: a prefix (`db_password`, `X-Auth-Token`)
# stays as it is anyway. A quoted value ends at its closing quote or, cut
# off, at the end of the line.
_KEY_VALUE = _lazy(
    r"(?P<key>(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|signature)[\w.-]{0,64})"
    r"(?P<sep>(?:\\?[\"'])?\s{0,8}[=:]\s{0,8})"
    r"(?:(?P<quote>[\"'])(?:[^\"'\\\r\n]|\\.|(?!(?P=quote))[\"'])*(?P=quote)?"
    # inside a JSON string (a JSON record's message, a body logged as JSON)
    # quotes arrive escaped: `password=\"x\"`, `{\"token\": \"x\"}`
    r"|(?P<equote>\\[\"'])(?:[^\"'\\\r\n]|\\[^\"'\r\n])*(?P=equote)?"
    r"|(?P<bare>[^\s,;&\"'}\])]+))",
    re.IGNORECASE,
)
# A record field named like a credential is masked whole, whatever its value.
_SECRET_KEY = re.compile(
    r"password|passwd|pwd|secret|token|api[_-]?key|apikey|authorization|credential"
    r"|private[_-]?key|cookie|signature",
    re.IGNORECASE,
)
# Chat webhooks whose URL path is the credential (logwatch's own notifiers send to
# these; an application may log them too): the host and route stay, the token goes.
_WEBHOOK_PATH = _lazy(
    r"(?P<head>(?:hooks\.slack\.com/(?:services|workflows|triggers)/"
    r"|discord(?:app)?\.com/api/webhooks/\d{1,32}/"
    r"|api\.telegram\.org/(?:file/)?bot"
    r"|open\.(?:feishu\.cn|larksuite\.com)/open-apis/bot/v2/hook/))"
    # Slack's token is three path segments (its routes end in "s/"); the others' one
    r"(?P<secret>(?<=s/)[^\s?#\"'<>]{1,256}|[^\s/?#\"'<>]{1,256})"
)
# A Telegram bot token outside its URL: the bot's id, a colon, and 35
# characters beginning with "A" (the shape secret scanners such as gitleaks
# check; the Bot API documents only "123456:ABC-DEF1234ghIkl-..."). The id is
# the bot's public user id and stays, so the reader knows which bot it was.
_TELEGRAM_TOKEN = _lazy(
    r"(?P<head>(?<![0-9])[0-9]{5,16}:)A[A-Za-z0-9_-]{34}(?![A-Za-z0-9_-])"
)
_AWS_KEY_ID = _lazy(r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b")
_AWS_SECRET = _lazy(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_CARD = _lazy(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")


def _keep_head(match: re.Match[str]) -> str:
    return match["head"] + MASK + (match.groupdict().get("tail") or "")


def _pem(match: re.Match[str]) -> str:
    kind = match["kind"]
    return f"-----BEGIN {kind}-----{MASK}-----END {kind}-----"


def _pem_tail(match: re.Match[str]) -> str:
    lines = match["run"].split("\n")
    # A run starts inside its first line (after "key: ", say) unless it starts
    # the text: that line's beginning is not the key's.
    floor = 0 if match.start() == 0 else 1
    end = len(lines) if lines[-1].strip() else len(lines) - 1  # not the END line's indent
    cut = end
    while cut > floor and len(lines[cut - 1].split()) == 1:
        cut -= 1
    if cut == end:
        return match[0]
    kept = "".join(line + "\n" for line in lines[:cut])
    return f"{kept}{MASK}-----END {match['kind']}-----"


def _authorization(match: re.Match[str]) -> str:
    quote = match["quote"] or ""
    scheme = match["qscheme"] if quote else match["scheme"]
    return match["head"] + quote + (f"{scheme} " if scheme else "") + MASK + quote


def _key_value(match: re.Match[str]) -> str:
    head = match["key"] + match["sep"]
    quote = match["quote"] or match["equote"]
    if quote is not None:
        return f"{head}{quote}{MASK}{quote}"
    if match["bare"] == MASK:
        return match[0]
    return head + MASK


def _whole(match: re.Match[str]) -> str:
    return MASK


def _aws_secret(match: re.Match[str]) -> str:
    # 40 base64 characters alone are also a git sha or a path; a secret key
    # mixes upper case, lower case and digits, and is not a path.
    token = match[0]
    looks_random = (
        any(c.isupper() for c in token)
        and any(c.islower() for c in token)
        and any(c.isdigit() for c in token)
    )
    if not looks_random or token.count("/") > 2 or "//" in token or token.startswith("/"):
        return token
    return MASK


def masked_type(event: Event, name: str, masked: str) -> str:
    """A type of ``event``'s chain; MASK if masking its text (``masked``) took it out.

    Where a cut took an event's exception line, the parser may read a
    secret's line for it: a private key's base64 line, an AWS key or a JWT is
    a valid dotted name. Its line is masked, so the type is too.
    """
    if "truncated" not in event.flags or masked is event.text or name in masked:
        return name
    return MASK


def luhn_ok(digits: str) -> bool:
    """Return whether a digit string passes the Luhn check that card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match[0])
    # Only issuer prefixes (Amex/Diners 3, Visa 4, Mastercard 2x/5x, Discover
    # and UnionPay 6): epoch milliseconds and ids start with 1 and would pass
    # Luhn one time in ten.
    issuer = digits[0] in "3456" or "22" <= digits[:2] <= "27"
    if 13 <= len(digits) <= 19 and issuer and luhn_ok(digits):
        return MASK
    return match[0]


# Almost no text holds a secret, and a pattern that finds nothing has still
# scanned the whole text. So each pattern has a gate: a cheap test that every
# text it can match passes (a substring each match holds, a run of characters
# each match makes). A text failing it is left as the pattern would leave it.
# tests/test_redact_gates.py holds every gate to its pattern.

# Characters that IGNORECASE takes for an ASCII letter where str.lower() does
# not give that letter (dotted and dotless i, long s, Kelvin sign): without
# them "\u017fecret=x" would match _KEY_VALUE but fail its gate.
_IGNORECASE_ASCII = {0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"}


def _folded(text: str) -> str:
    """The text as IGNORECASE compares it with ASCII literals: lower-cased."""
    if text.isascii():
        return text.lower()
    return text.translate(_IGNORECASE_ASCII).lower()


def _byte_classes(classes: Mapping[bytes, bytes]) -> bytes:
    """A ``bytes.translate`` table: each member byte to its class, any other byte to ``x``."""
    table = bytearray(b"x" * 256)
    for members, name in classes.items():
        for byte in members:
            table[byte] = name[0]
    return bytes(table)


_AWS_SECRET_CLASSES = _byte_classes(
    {b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+": b"a"}
)
_CARD_CLASSES = _byte_classes({b"0123456789": b"d"})
_TELEGRAM_CLASSES = _byte_classes(
    {b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-": b"a", b":": b":"}
)


def _may_hold_aws_secret(data: bytes) -> bool:
    return b"a" * 40 in data.translate(_AWS_SECRET_CLASSES)


def _may_hold_telegram_token(data: bytes) -> bool:
    # the id's last digit, the colon, the 35 characters
    return b"a:" + b"a" * 35 in data.translate(_TELEGRAM_CLASSES)


def _may_hold_card(data: bytes) -> bool:
    # With its separators dropped, a card number is a run of 13 or more digits.
    return b"d" * 13 in data.translate(_CARD_CLASSES, b" -")


# A NamedTuple, not a frozen dataclass: ~0.4 ms less to make at import.
class _Rule(NamedTuple):
    """A pattern, what replaces its matches, and the gate of texts it may match.

    A text passes the gate when it contains one of ``exact`` (if any), one of
    ``folded`` in its ``_folded`` form (if any), and, if ASCII, passes
    ``ascii_check`` on its bytes (if any).
    """

    compiled: Callable[[], re.Pattern[str]]
    replace: _Replacer
    exact: tuple[str, ...] = ()
    folded: tuple[str, ...] = ()
    ascii_check: Callable[[bytes], bool] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        return self.compiled()

    @property
    def gated(self) -> bool:
        return bool(self.exact or self.folded or self.ascii_check)


_DEFAULTS: tuple[_Rule, ...] = (
    _Rule(_PEM, _pem, exact=("-----BEGIN ",)),
    _Rule(_PEM_TAIL, _pem_tail, exact=("-----END ",)),
    _Rule(_URL_PASSWORD, _keep_head, exact=("://",)),
    _Rule(_AUTHORIZATION, _authorization, folded=("authorization", "cookie")),
    _Rule(_BEARER, _keep_head, folded=("bearer",)),
    _Rule(_JWT, _whole, exact=(".eyJ",)),
    _Rule(
        _WEBHOOK_PATH,
        _keep_head,
        # no digit in a gate: the digits no gate names are made alike (_digit_classes)
        exact=("hooks.slack.com/", "/api/webhooks/", "api.telegram.org/", "/open-apis/bot/"),
    ),
    _Rule(_TELEGRAM_TOKEN, _keep_head, exact=(":A",), ascii_check=_may_hold_telegram_token),
    _Rule(
        _KEY_VALUE,
        _key_value,
        folded=("passw", "pwd", "secret", "token", "apikey", "api_key", "api-key", "signature"),
    ),
    _Rule(_AWS_KEY_ID, _whole, exact=("AKIA", "ASIA", "ABIA", "ACCA", "A3T")),
    _Rule(_AWS_SECRET, _aws_secret, ascii_check=_may_hold_aws_secret),
    _Rule(_CARD, _card, ascii_check=_may_hold_card),
)


def _digit_classes(rules: Sequence[_Rule]) -> bytes | None:
    """A table making alike the ASCII digits no gate tells apart; None: every digit counts.

    A gate sees a digit only through a literal holding it or through a byte
    class (``ascii_check``) in which all digits are alike; so two lines that
    differ only in digits no literal holds pass the same gates.
    """
    named = {char for rule in rules for literal in (*rule.exact, *rule.folded)
             for char in literal if char in "0123456789"}
    free = [char for char in "0123456789" if char not in named]
    if not free:
        return None
    return bytes.maketrans("".join(free).encode(), free[0].encode() * len(free))


def _mask_groups(match: re.Match[str]) -> str:
    """Mask the capturing groups of a user pattern, or the whole match without groups."""
    if match.re.groups == 0:
        return MASK
    text = match[0]
    base = match.start()
    pieces: list[str] = []
    cursor = 0
    for index in range(1, match.re.groups + 1):
        start, end = match.span(index)
        if start < 0 or start - base < cursor:
            continue  # group did not take part, or is nested in one already masked
        pieces.append(text[cursor : start - base])
        pieces.append(MASK)
        cursor = end - base
    pieces.append(text[cursor:])
    return "".join(pieces)


def _user_rule(pattern: re.Pattern[str]) -> _Rule:
    """An operator's pattern, gated on the literals it cannot match without, if it has any."""
    found = message_literals(pattern)
    if found is None:
        # gates are applied a line at a time
        return _Rule(lambda: pattern, _mask_groups)
    return _Rule(
        lambda: pattern,
        _mask_groups,
        exact=tuple(sorted(literal.decode() for literal in found.exact)),
        folded=tuple(sorted(literal.decode() for literal in found.folded)),
    )


def _any_in(needles: tuple[str, ...], text: str) -> bool:
    # A loop, not any() over a generator (half the time): this runs for every
    # gate of every line not seen before, and each event's first line is new.
    for needle in needles:  # noqa: SIM110
        if needle in text:
            return True
    return False


# A traceback is mostly lines that every other traceback from the same code
# has too, so what the gates make of a text is remembered by the exact text:
# of each line, and of the lines between an event's first and last together.
# Up to what the remembered texts cost (each its str object, and a table slot
# with the table's spare room), then forgotten all at once; a long text is not kept.
_CACHE_BYTES = 1 << 20
_SLOT_COST = 64
_CACHE_MAX_CHARS = 10_000


class Redactor:
    """Mask secrets in text: the built-in patterns, then the operator's.

    A user pattern without groups is masked whole; with groups, only the
    groups are (``r"session=(\\w+)"`` keeps ``session=``).
    """

    def __init__(
        self, patterns: Sequence[re.Pattern[str]] = (), *, defaults: bool = True
    ) -> None:
        rules = list(_DEFAULTS) if defaults else []
        rules.extend(_user_rule(pattern) for pattern in patterns)
        self._rules = tuple(rules)
        # Bit i of a mask: rule i may match.
        self._ungated = sum(1 << i for i, rule in enumerate(rules) if not rule.gated)
        self._gated = tuple((1 << i, rule) for i, rule in enumerate(rules) if rule.gated)
        self._all = (1 << len(rules)) - 1
        self._masks: dict[str | bytes, int] = {}
        self._cached_bytes = 0
        self._digits = _digit_classes(rules)
        self._blank = self._line_mask("")  # what the empty parts of a one-line text pass

    def __call__(self, text: str) -> str:
        return self._masked(text, self._mask(text))

    def event_texts(
        self, text: str, message: str, exc_message: str | None
    ) -> tuple[str, str, str | None]:
        """An event's text, message and exception message, each masked.

        A message found in the text is not looked at again when no line of
        the text passes a gate: its lines are pieces of the text's lines, and
        a gate a piece passes its whole line passes too. A message made some
        other way (decoded from JSON, ANSI codes taken out) is masked itself.
        """
        mask = self._mask(text)
        if mask:
            return self._masked(text, mask), self(message), self.optional(exc_message)
        return (
            text,
            message if message in text else self(message),
            exc_message if exc_message is None or exc_message in text else self(exc_message),
        )

    def _masked(self, text: str, mask: int) -> str:
        if not mask:
            return text
        for index, rule in enumerate(self._rules):
            if not mask >> index & 1:
                continue
            masked = rule.pattern.sub(rule.replace, text)
            if masked is not text:
                # the later gates must see the text as this rule left it
                text = masked
                mask = self._mask(text)
        return text

    def _mask(self, text: str) -> int:
        """The rules whose gate the text passes.

        Every gate may be applied line by line: no gate literal holds a line
        break, and neither pattern gated on a character run matches one.
        """
        mask = self._ungated
        if mask == self._all:
            return mask
        if "\n" not in text:
            # A message, an exception's: no stack, no last line to look up.
            return mask | self._line_mask_of(text) | self._blank
        # An event's first line holds its own timestamp, and its last often an
        # id (the exception's message), so whole texts seldom repeat; the lines
        # between them (a traceback's stack) often do, all of them.
        head, _, rest = text.partition("\n")
        stack, _, last = rest.rpartition("\n")
        return mask | self._line_mask_of(head) | self._text_mask(stack) | self._line_mask_of(last)

    def _line_mask_of(self, line: str) -> int:
        """``_text_mask`` of one line, remembered by the line with its digits made alike.

        One event's first line differs from the last event's mostly in its
        digits (the time, an order number): the digits' shape is what repeats.
        """
        table = self._digits
        if table is None:
            return self._text_mask(line)
        # UTF-8 never has an ASCII digit's byte inside a longer character
        key = line.encode("utf-8", "surrogatepass").translate(table)
        found = self._masks.get(key)
        if found is None:
            found = self._line_mask(line)
            self._remember(key, found)
        return found

    def _text_mask(self, text: str) -> int:
        """The gated rules some line of ``text`` passes, remembered by the exact text."""
        found = self._masks.get(text)
        if found is None:
            if "\n" in text:
                found = 0
                for line in text.split("\n"):
                    found |= self._text_mask(line)
            else:
                found = self._line_mask(text)
            self._remember(text, found)
        return found

    def _remember(self, text: str | bytes, mask: int) -> None:
        if len(text) > _CACHE_MAX_CHARS:
            return
        cost = sys.getsizeof(text) + _SLOT_COST
        if self._cached_bytes + cost > _CACHE_BYTES:
            self._masks.clear()
            self._cached_bytes = 0
        self._cached_bytes += cost
        self._masks[text] = mask

    def _line_mask(self, line: str) -> int:
        mask = 0
        folded: str | None = None
        data: bytes | None = None
        for bit, rule in self._gated:
            if rule.exact and not _any_in(rule.exact, line):
                continue
            if rule.folded:
                if folded is None:
                    folded = _folded(line)
                if not _any_in(rule.folded, folded):
                    continue
            if rule.ascii_check is not None and line.isascii():
                if data is None:
                    data = line.encode("ascii")
                if not rule.ascii_check(data):
                    continue
            mask |= bit
        return mask

    def optional(self, text: str | None) -> str | None:
        return None if text is None else self(text)

    def fields(self, fields: Mapping[str, Any], *, max_chars: int = 1000) -> dict[str, Any]:
        """Scalar fields, redacted: strings masked and cut, credentials by name masked whole.

        Nested objects and lists are left out: fields are for labels,
        group keys and templates, and the whole record is in the text anyway.
        """
        clean: dict[str, Any] = {}
        for name, value in fields.items():
            if isinstance(value, Mapping | list | tuple):
                continue
            if value is not None and _SECRET_KEY.search(name):
                clean[name] = MASK
            elif isinstance(value, str):
                clean[name] = self(value)[:max_chars]
            else:
                clean[name] = value
        return clean
