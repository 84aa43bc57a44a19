"""The NOC's view of a call: one line per call decision, parseable in logfmt and JSON, with
the call, area, outcome, path, municipality and latency, and the caller only as its keyed
hash. A traceback stays on its line."""

import json
import logging
import os
import shlex
import sys

import pytest

from fourteenplus import callflow as cf
from fourteenplus import logformat
from fourteenplus.records import CallerHasher
from fourteenplus.session import CallServices, Session
from fourteenplus.vocabulary import CallPath, Outcome, Timing

from .scripted_calls import SERVICE, StandIn

CALLER = "+31 6 1234 5678"
DIGITS = ("0612345678", "612345678", "1234 5678", "12345678")  # the caller in any form
HASHER = CallerHasher(b"k" * 32)


def decision_line(log_format: str) -> str:
    """The line `record_done` logs for a finished call from CALLER, in `log_format`."""
    session = Session(cf.CallFlow(SERVICE, "140229", CALLER), CallServices(speech=None, hasher=HASHER),
                      StandIn, lambda _: None, name="call 1700000000.1 (140229)")
    record = session.flow.record
    record.area_code, record.outcome, record.path, record.municipality = "0229", Outcome.TRANSFERRED, CallPath.SPOKEN, "Koggenland"
    record.timings[Timing.ANSWER_TO_INVITE] = 2150.0
    return capture(log_format, session.record_done)


def capture(log_format: str, emit) -> str:
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda rec: lines.append(handler.format(rec))  # type: ignore[method-assign]
    handler.setFormatter(logformat.FORMATTERS[log_format]())
    logger = logging.getLogger("fourteenplus")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)  # setLevel, not .level: it clears the loggers' cached levels
    try:
        emit()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert len(lines) == 1 and "\n" not in lines[0]
    return lines[0]


def parse_logfmt(line: str) -> dict:
    return dict(pair.split("=", 1) for pair in shlex.split(line))


EXPECTED = {"call": "call 1700000000.1 (140229)", "area": "0229", "outcome": Outcome.TRANSFERRED,
            "path": CallPath.SPOKEN, "municipality": "Koggenland", "caller_hash": HASHER.hash(CALLER),
            "level": "info", "logger": "fourteenplus.calls", "msg": "call decision"}


@pytest.mark.parametrize("log_format, parse", [("logfmt", parse_logfmt), ("json", json.loads)])
def test_a_call_decision_is_one_parseable_line_with_the_noc_fields(log_format, parse):
    fields = parse(decision_line(log_format))
    assert {key: fields.get(key) for key in EXPECTED} == EXPECTED
    assert float(fields["latency_ms"]) == 2150.0
    assert "ts" in fields


@pytest.mark.parametrize("log_format", sorted(logformat.FORMATTERS))
def test_the_caller_number_never_appears_in_clear(log_format):
    line = decision_line(log_format)
    assert not any(form in line for form in DIGITS), line


def test_without_a_hasher_the_caller_is_left_out():
    session = Session(cf.CallFlow(SERVICE, "140229", CALLER), CallServices(speech=None), StandIn, lambda _: None)
    assert "caller_hash" not in parse_logfmt(capture("logfmt", session.record_done))


@pytest.mark.parametrize("log_format, parse", [("logfmt", parse_logfmt), ("json", json.loads)])
def test_a_traceback_stays_on_the_line_of_its_message(log_format, parse):
    def fail():
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("fourteenplus.x").exception("it failed")

    fields = parse(capture(log_format, fail))
    assert fields["level"] == "error" and fields["msg"] == "it failed"
    assert "RuntimeError: boom" in fields["exc"]


@pytest.mark.parametrize("log_format", sorted(logformat.FORMATTERS))
def test_under_journald_every_line_carries_its_priority(log_format):
    formatter = logformat.JournalFormatter(logformat.FORMATTERS[log_format]())

    def line(level, exc_info=None):
        return formatter.format(logging.LogRecord("fourteenplus", level, __file__, 1, "m", None, exc_info))

    assert [line(level)[:3] for level in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO,
                                          logging.DEBUG)] == ["<2>", "<3>", "<4>", "<6>", "<7>"]
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        traceback = line(logging.ERROR, sys.exc_info())
    assert all(each.startswith("<3>") for each in traceback.split("\n")) and "boom" in traceback


def test_lines_are_prefixed_only_when_stderr_is_the_journal_stream_systemd_names(tmp_path, monkeypatch):
    with open(tmp_path / "stream", "w") as stream:
        stat = os.fstat(stream.fileno())
        monkeypatch.delenv("JOURNAL_STREAM", raising=False)
        assert not logformat.to_journal(stream)
        monkeypatch.setenv("JOURNAL_STREAM", f"{stat.st_dev}:{stat.st_ino + 1}")  # a stream since redirected
        assert not logformat.to_journal(stream)
        monkeypatch.setenv("JOURNAL_STREAM", f"{stat.st_dev}:{stat.st_ino}")
        assert logformat.to_journal(stream)


def test_an_error_before_the_app_runs_reaches_the_journal_as_an_error(tmp_path, monkeypatch):
    """`run` and `agi` print why they will not start (a configuration error, an Asterisk that
    cannot be reached): under systemd with the error's priority, at a terminal as it was."""
    from fourteenplus.commands._common import print_error

    path = tmp_path / "stream"
    with open(path, "w") as stream:
        monkeypatch.delenv("JOURNAL_STREAM", raising=False)
        print_error("error: ARI not reachable", stream)
        stat = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{stat.st_dev}:{stat.st_ino}")
        print_error("fourteenplus.yaml:3:5: error: unknown key", stream)
    assert path.read_text().splitlines() == ["error: ARI not reachable", "<3>fourteenplus.yaml:3:5: error: unknown key"]


def test_a_crash_nothing_handled_is_logged_critical_with_its_traceback_and_exits_1(caplog):
    from fourteenplus.commands._serving import logging_a_crash

    def serve():
        raise RuntimeError("the model would not load")

    with caplog.at_level(logging.CRITICAL, logger="fourteenplus"):
        assert logging_a_crash(serve) == 1
    [record] = caplog.records
    assert record.levelno == logging.CRITICAL and "the model would not load" in caplog.text
    assert logging_a_crash(lambda: 0) == 0
