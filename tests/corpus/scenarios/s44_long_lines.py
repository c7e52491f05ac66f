"""s44: very long lines: a 20 KB exception message and a long record header."""

from __future__ import annotations

from ._recorder import Recorder


def reject(payload: str) -> None:
    raise ValueError(f"payload rejected: {payload}")


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    payload = ",".join(f"item-{n:05d}" for n in range(2000))
    rec.logged("20 KB exception message", lambda: reject(payload), "import failed")
    rec.noise()
    rec.logged("long header line", lambda: reject("short"), "request " + "x" * 5000)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
