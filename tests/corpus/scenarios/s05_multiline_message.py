"""s05: messages over several lines, continuation lines indented or not."""

from __future__ import annotations

from ._recorder import Recorder


def load_config() -> None:
    raise RuntimeError("config invalid:\n  key 'port' must be int\nkey 'host' missing")


def parse_rows() -> None:
    raise ValueError("2 rows rejected:\nrow 17: 'abc' is not an int\nrow 18: empty name")


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught multi-line message", load_config)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("multi-line message, unindented continuation", load_config, "cannot start")
    # the next record follows at once: it must end the continuation lines
    rec.noise(1)
    rec.logged("multi-line message, then a record", parse_rows, "import failed", "app.import")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
