"""The redactor: each built-in pattern masks its secret and leaves ordinary text alone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from logwatch.rules import Redactor
from logwatch.rules.redact import luhn_ok

redact = Redactor()

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "-----END RSA PRIVATE KEY-----"
)
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
# Obviously fake: a bot id, then 35 characters in a Telegram token's shape.
TELEGRAM_TOKEN = "123456789:AAfake-telegram-token_for-tests-000"
# The last lines of a private key block ("NOT A REAL KEY: TEST DATA ONLY." in base64).
KEY_TAIL = (
    "VEVTVCBEQVRBIE9OTFkuIE5PVCBBIFJFQUwgS0VZOiBURVNUIERBVEEgT05MWS4g\n"
    "Tk9UIEEgUkVBTCBLRVk6IFRFU1QgREFUQSBPTkxZLiA=\n"
    "-----END RSA PRIVATE KEY-----"
)
ELIDED = "... logwatch: 40 lines elided ..."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "postgres://app:hunter2@db:5432/shop",
            "postgres://app:***@db:5432/shop",
            id="url password",
        ),
        pytest.param(
            "redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0", id="url password no user"
        ),
        pytest.param("password=hunter2 user=bob", "password=*** user=bob", id="password="),
        pytest.param("passwd=x1&next=2", "passwd=***&next=2", id="passwd= in query"),
        pytest.param("pwd = abc", "pwd = ***", id="pwd spaced"),
        pytest.param("secret=abc;", "secret=***;", id="secret="),
        pytest.param("token=t0k3n", "token=***", id="token="),
        pytest.param("api_key=AIzaSyA", "api_key=***", id="api_key="),
        pytest.param("db_password=hunter2", "db_password=***", id="prefixed key"),
        pytest.param(
            '{"password": "hunter2", "user": "bob"}',
            '{"password": "***", "user": "bob"}',
            id="json",
        ),
        pytest.param(
            "{'token': 'abc def', 'n': 1}", "{'token': '***', 'n': 1}", id="python repr with space"
        ),
        pytest.param("password: hunter2", "password: ***", id="yaml"),
        pytest.param(
            "Authorization: Basic dXNlcjpwYXNz",
            "Authorization: Basic ***",
            id="authorization basic",
        ),
        pytest.param("authorization=abcdef", "authorization=***", id="authorization bare"),
        pytest.param(
            'Proxy-Authorization: Digest username="u", response="abc"',
            "Proxy-Authorization: Digest ***",
            id="authorization to end of line",
        ),
        pytest.param(
            """{'Authorization': 'Bearer abc', 'Host': 'h'}""",
            """{'Authorization': 'Bearer ***', 'Host': 'h'}""",
            id="authorization quoted",
        ),
        pytest.param("sent Bearer abc.DEF-123_x~+/= to api", "sent Bearer *** to api", id="bearer"),
        pytest.param(f"jwt {JWT} end", "jwt *** end", id="jwt"),
        pytest.param("key AKIAIOSFODNN7EXAMPLE used", "key *** used", id="aws key id"),
        pytest.param(
            "aws wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end", "aws *** end", id="aws secret alone"
        ),
        pytest.param(
            f"key:\n{PEM}\nafter",
            "key:\n-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----\nafter",
            id="pem block",
        ),
        pytest.param(
            "-----BEGIN PRIVATE KEY-----\nMIIEvQ\nMIIE (cut)",
            "-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----",
            id="pem cut",
        ),
        pytest.param("card 4111 1111 1111 1111 declined", "card *** declined", id="visa spaced"),
        pytest.param("card 5500-0000-0000-0004", "card ***", id="mastercard dashed"),
        pytest.param("amex 378282246310005.", "amex ***.", id="amex"),
        # a JSON record's raw text escapes the quotes of its message
        pytest.param(
            r'{"msg": "login password=\"hunter2\" failed"}',
            r'{"msg": "login password=\"***\" failed"}',
            id="escaped quotes in a JSON string",
        ),
        pytest.param(
            r'{"msg": "body {\"password\": \"hunter 2\", \"user\": \"bob\"}"}',
            r'{"msg": "body {\"password\": \"***\", \"user\": \"bob\"}"}',
            id="JSON logged inside a JSON string",
        ),
        pytest.param(
            r'{"msg": "headers {\"Authorization\": \"Basic dXNlcjpwYXNz\"}"}',
            r'{"msg": "headers {\"Authorization\": \"Basic ***\"}"}',
            id="authorization inside a JSON string",
        ),
        # chat webhooks whose path is the credential (found by a security audit)
        pytest.param(
            "POST https://hooks.slack.com/services/T0001/B0002/XXXXsecret failed",
            "POST https://hooks.slack.com/services/*** failed",
            id="slack webhook",
        ),
        pytest.param(
            "https://discord.com/api/webhooks/123456789/abcDEF-t0ken_x?wait=true",
            "https://discord.com/api/webhooks/123456789/***?wait=true",
            id="discord webhook",
        ),
        pytest.param(
            "GET https://api.telegram.org/bot123456:AAHs3cret-x/sendMessage",
            "GET https://api.telegram.org/bot***/sendMessage",
            id="telegram bot token",
        ),
        pytest.param(
            "https://open.feishu.cn/open-apis/bot/v2/hook/0c5f7e2a-uuid",
            "https://open.feishu.cn/open-apis/bot/v2/hook/***",
            id="feishu webhook",
        ),
        pytest.param(
            "GET https://user:p@ss@host/path", "GET https://user:***@host/path",
            id="url password holding @",
        ),
        pytest.param(
            "smtp://ops@example.com:pw@mail.example.com:587",
            "smtp://ops@example.com:***@mail.example.com:587",
            id="url user name that is an e-mail address",
        ),
        pytest.param(
            '{"url":"redis://u:p@ss@cache","owner":"ops@example.com"}',
            '{"url":"redis://u:***@cache","owner":"ops@example.com"}',
            id="quoted url ends at its quote",
        ),
        pytest.param(
            "connect to postgres://app:hunt\nTraceback (most recent call last):",
            "connect to postgres://app:***\nTraceback (most recent call last):",
            id="url cut inside its password at a line's end",
        ),
        pytest.param(
            f"getMe failed for {TELEGRAM_TOKEN}: 401", "getMe failed for 123456789:***: 401",
            id="telegram bot token alone",
        ),
        pytest.param(
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", "jwt ***", id="jwt cut before signature"
        ),
        pytest.param(
            f"ERROR key load failed\n{ELIDED}\n{KEY_TAIL}\nValueError: bad key",
            f"ERROR key load failed\n{ELIDED}\n***-----END RSA PRIVATE KEY-----\n"
            "ValueError: bad key",
            id="pem tail whose BEGIN line was elided",
        ),
        pytest.param(
            f"    {KEY_TAIL.replace(chr(10), chr(10) + '    ')}",
            "***-----END RSA PRIVATE KEY-----",
            id="pem tail indented, starting the text",
        ),
        pytest.param(
            f"{PEM.rsplit(chr(10), 1)[0]}\n{ELIDED}\n  File \"/srv/app.py\", line 3, in f\n"
            "ValueError: bad key",
            "-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----\n"
            f"{ELIDED}\n  File \"/srv/app.py\", line 3, in f\nValueError: bad key",
            id="pem whose END was elided is masked up to the marker",
        ),
        pytest.param("Cookie: session=abc123; theme=dark", "Cookie: ***", id="cookie header"),
        pytest.param("Set-Cookie: sid=xyz; Path=/; HttpOnly", "Set-Cookie: ***", id="set-cookie"),
        pytest.param(
            '{"headers": {"Cookie": "session=abc"}}', '{"headers": {"Cookie": "***"}}',
            id="cookie quoted",
        ),
        pytest.param(
            "GET /f?X-Amz-Credential=AK/2026&X-Amz-Signature=0a1b2c3d HTTP/1.1",
            "GET /f?X-Amz-Credential=AK/2026&X-Amz-Signature=*** HTTP/1.1",
            id="presigned url signature",
        ),
    ],
)
def test_default_pattern_masks(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("ValueError: invalid literal for int() with base 10: 'abc'", id="plain"),
        pytest.param("https://example.com:8443/path?q=1", id="url with port, no password"),
        pytest.param("user@example.com wrote", id="email"),
        pytest.param("password is wrong for bob", id="prose"),
        pytest.param("order 4111111111111112 failed", id="16 digits failing luhn"),
        pytest.param("epoch 1767225600000 ms", id="epoch millis"),
        pytest.param("ts 2026-01-01 12:00:00,123", id="timestamp"),
        pytest.param("commit 3f786850e387550fdab836ed7e6dc881de23001b", id="git sha"),
        pytest.param(
            'File "/srv/app/lib/python3.11/site-packages/sqlalchemy/engine/base.py"', id="long path"
        ),
        pytest.param("Authorization failed for bob", id="authorization in prose"),
        pytest.param("see https://hooks.slack.com/ for the docs", id="slack host alone"),
        pytest.param("cookies are stale, the signature is invalid", id="cookie, signature prose"),
        pytest.param("listening on http://0.0.0.0:8080", id="url port at a line's end"),
        pytest.param("Server started at http://localhost:8080.", id="url port ending a sentence"),
        pytest.param("redis unreachable (redis://cache:6379)", id="url port in parentheses"),
        pytest.param("see <http://api:8000>", id="url port in angle brackets"),
        pytest.param("replica set mongodb://db1:27017,db2:27017", id="host list at a line's end"),
        pytest.param("http://[::1]:8080", id="ipv6 host"),
        pytest.param(
            '{"url":"http://cache:6379","owner":"ops@example.com"}', id="quoted url, then an @"
        ),
        pytest.param("up 12:30:45, order 1234567:Accepted", id="times and ids with colons"),
        pytest.param(
            "shop/app.py:1234:handle_payment_request_for_customer", id="file:line:function"
        ),
        pytest.param("bad key\n-----END RSA PRIVATE KEY-----", id="prose before a pem end line"),
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_redaction_is_idempotent() -> None:
    """Masking masked text changes nothing, so layers can each apply the redactor."""
    once = redact(
        "password=x token='y' https://u:p@h Bearer z " + JWT
        + f" {TELEGRAM_TOKEN} postgres://a:p@s@h/ x://a:cut\n{KEY_TAIL}"
    )
    assert redact(once) == once


def test_user_pattern_without_groups_masks_the_whole_match() -> None:
    assert Redactor([re.compile(r"ssn \d{3}-\d{2}-\d{4}")])("ssn 078-05-1120 ok") == "*** ok"


def test_user_pattern_with_groups_masks_only_the_groups() -> None:
    """Groups say which part is secret: the label stays readable."""
    custom = Redactor([re.compile(r"session=(\w+)/(\w+)")])
    assert custom("session=abc/def end") == "session=***/*** end"


def test_defaults_can_be_turned_off() -> None:
    assert Redactor(defaults=False)("password=hunter2") == "password=hunter2"


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True)],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_ok(digits) is valid


HOSTILE_SIZE = 150_000


@pytest.mark.parametrize(
    "unit",
    [
        "tokenizer_",
        "a.",
        "eyJ-",
        'password="',
        'password=\\"',
        'password=\\"\\x',
        'authorization: \\"',
        "password='\"",
        'authorization: "',
        "bearer ",
        "1 ",
        "1-",
        "x://:",
        " A",
        "Ab1/",
        "pwd:     ",
        "-----BEGIN PRIVATE KEY-----",
        "hooks.slack.com/services/",
        "api.telegram.org/bot",
        "cookie: ",
        "signature=",
        "x://a:b@@",
        "x://a:b",
        '"x://a:b@',
        "x://a@:",
        "12345:A",
        "12345:" + "A" * 40,
        "A\n",
        "A-----END PRIVATE KEY-----",
        "-----END " + "A" * 100,
        "-----BEGIN PRIVATE KEY-----\n... logwatch: ",
    ],
)
def test_hostile_text_is_redacted_in_linear_time(unit: str) -> None:
    """A log line built to make a pattern backtrack still redacts in well under a second.

    A quadratic pattern takes tens of seconds on 150 kB; the bound only
    catches that, not a slow machine.
    """
    text = unit * (HOSTILE_SIZE // len(unit))
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 3.0


def test_a_default_pattern_is_compiled_only_once_a_text_passes_its_gate() -> None:
    """Compiling them all was ~2 ms of every start-up, and most texts pass no gate."""
    probe = (
        "import json\n"
        "from logwatch.rules.redact import _DEFAULTS, Redactor\n"
        "redact = Redactor()\n"
        "def compiled(): return [rule.compiled.cache_info().currsize for rule in _DEFAULTS]\n"
        "redact('2026-01-01 12:00:00 ERROR could not connect to the database')\n"
        "before = compiled()\n"
        "masked = redact('retrying with token=abc123')\n"
        "print(json.dumps([before, compiled(), masked]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    before, after, masked = json.loads(done.stdout)
    assert before == [0] * len(before)
    assert 0 < sum(after) < len(after)
    assert masked == "retrying with token=***"
