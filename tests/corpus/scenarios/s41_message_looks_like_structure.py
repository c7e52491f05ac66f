"""s41: messages with text that looks like traceback structure, on one line or several."""

from __future__ import annotations

from ._recorder import Recorder


def mentions_traceback() -> None:
    raise AssertionError("expected 'Traceback (most recent call last):' in the child output")


def looks_like_exception_lines() -> None:
    raise TypeError("expected int\ngot: str\nValueError: raised by the parser")


def looks_like_frames() -> None:
    raise RuntimeError('template error\n  File "page.html", line 3, in block\n    {{ user.name }}')


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("message mentions a Traceback header", mentions_traceback, "test failed")
    rec.noise()
    rec.logged("continuation lines that look like Type: msg", looks_like_exception_lines, "bad")
    rec.noise()
    rec.logged("continuation lines that look like frames", looks_like_frames, "render failed")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
