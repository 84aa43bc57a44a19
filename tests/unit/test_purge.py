"""Retention: old records, transcripts and audio go; recent ones stay; what went is reported."""

from __future__ import annotations

import time

from fourteenplus.cli import main
from fourteenplus.config import RecordSettings
from fourteenplus.records import AudioArchive, CallerHasher, RecordWriter, Row, open_store, purge

from ..waiting import wait_until
from .record_backends import configuration_with_store
from .scripted_calls import DAY, Caller

HASHER = CallerHasher(b"p" * 32)


def fill(store, now):
    """Calls 100, 91, 89 and 1 days old; 2 name attempts each, one with a transcript."""
    for age in (100, 91, 89, 1):
        store.insert(Row.of(Caller(started_at=now - age * DAY).silence().say("Hoorn", "hoorn").record, HASHER))


def test_purge_removes_exactly_the_calls_older_than_the_retention(tmp_path):
    settings = RecordSettings(str(tmp_path / "records.db"), None, 90, False, 7)
    store, now = open_store(settings), time.time()
    fill(store, now)
    purged = purge(settings, store, AudioArchive(settings, tmp_path / "audio"), now)
    assert (purged.calls, purged.attempts, purged.transcripts, purged.audio_files) == (2, 4, 2, 0)
    assert sorted(round((now - c.record.started_at) / DAY) for c in store.calls()) == [1, 89]
    assert sum(len(c.record.attempts) for c in store.calls()) == 4
    assert purge(settings, store, AudioArchive(settings, tmp_path / "audio"), now).calls == 0


def test_the_purge_command_reports_what_it_removed(tmp_path, monkeypatch, capsys):
    config, settings = configuration_with_store(tmp_path, monkeypatch, retention_days=30)
    fill(open_store(settings), time.time())
    assert main(["purge", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "removed 3 calls, 6 attempts (3 with a transcript) and 0 audio files" in out
    assert "older than 30 days" in out


def test_the_running_writer_purges_on_its_schedule(tmp_path):
    settings = RecordSettings(str(tmp_path / "records.db"), None, 90, False, 7)
    fill(open_store(settings), time.time())
    w = RecordWriter(settings, hasher=HASHER, spool=tmp_path / "spool", purge_every_s=0.05)
    try:
        wait_until(lambda: len(open_store(settings).calls()) == 2, "the writer's scheduled purge of the old call")
    finally:
        w.close()
