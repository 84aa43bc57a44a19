"""The record store and writer: every path stored and read back, migrations, concurrency, failures."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import pathlib
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from fourteenplus.config import RecordSettings
from fourteenplus.records import CallerHasher, RecordWriter, Row, StoreError, open_store
from fourteenplus.records.store import MIGRATIONS

from ..waiting import wait_until
from .record_backends import backend  # noqa: F401  (a fixture)
from .scripted_calls import T0, Caller, every_path

HASHER = CallerHasher(b"k" * 32)


def settings(tmp_path, **changes) -> RecordSettings:
    return dataclasses.replace(RecordSettings(str(tmp_path / "records.db"), None, 90, False, 7), **changes)


def writer(tmp_path, **options) -> RecordWriter:
    options.setdefault("hasher", HASHER)
    options.setdefault("spool", tmp_path / "spool")
    options.setdefault("purge_every_s", None)
    return RecordWriter(options.pop("records", None) or settings(tmp_path), **options)


def test_every_path_is_stored_and_read_back_whole(tmp_path, backend):
    records = every_path()
    w = writer(tmp_path, records=backend)
    for record in records.values():
        w.write(record)
    w.close()
    assert w.written == len(records)
    stored = open_store(backend).calls()
    assert len(stored) == len(records)
    by_dialled_path = {(s.record.dialled, s.record.path, s.record.outcome, s.record.abandoned_at,
                        s.record.dial_status, s.record.overflow_status): s for s in stored}
    for name, record in records.items():
        key = (record.dialled, record.path, record.outcome, record.abandoned_at, record.dial_status,
               record.overflow_status)
        got = by_dialled_path.pop(key)
        assert got.record == dataclasses.replace(record, caller=None), name
        assert got.caller_hash == HASHER.hash("0612345678")
    assert not by_dialled_path


def test_attempts_keep_transcript_candidates_and_scores(backend):
    record = Caller().mumble("eh de westfriese poort", near="Hoorn", score=0.04).say("Opmeer").record
    store = open_store(backend)
    store.insert(Row.of(record, HASHER))
    [stored] = store.calls()
    first, second = stored.record.attempts
    assert (first.kind, first.decision, first.transcript, first.candidates) == (
        "name", "reject", "eh de westfriese poort", (("Hoorn", 0.04),))
    assert (second.decision, second.municipality, second.score) == ("accept", "Opmeer", 0.995)


def test_a_retried_insert_stores_the_call_once(backend):
    store = open_store(backend)
    row = Row.of(Caller().say("Hoorn").record, HASHER)
    assert store.insert(row) is True
    store.insert(row)  # a lost acknowledgement: the same final row again replaces it with itself
    assert len(store.calls()) == 1 and len(store.calls()[0].record.attempts) == 1


def test_calls_filter_on_period_and_area(backend):
    store = open_store(backend)
    for day, number in [(0, "140229"), (1, "140229"), (1, "140113"), (2, "140229")]:
        store.insert(Row.of(Caller(number, started_at=T0 + day * 86400).hang_up().record, HASHER))
    assert len(store.calls(since=T0 + 86400)) == 3
    assert len(store.calls(since=T0 + 86400, until=T0 + 2 * 86400)) == 2
    assert [c.record.area_code for c in store.calls(areas=("0113",))] == ["0113"]


def test_each_call_names_the_node_that_took_it_and_calls_filter_on_it(backend, monkeypatch):
    store = open_store(backend)
    for node in ("node-a", "node-b", "node-a"):
        monkeypatch.setenv("FOURTEENPLUS_NODE", node)
        store.insert(Row.of(Caller().say("Hoorn").record, HASHER))
    assert sorted(c.node for c in store.calls()) == ["node-a", "node-a", "node-b"]
    assert [c.node for c in store.calls(nodes=("node-b",))] == ["node-b"]


def test_without_a_configured_node_the_host_name_is_recorded(backend, monkeypatch):
    monkeypatch.delenv("FOURTEENPLUS_NODE", raising=False)
    store = open_store(backend)
    store.insert(Row.of(Caller().say("Hoorn").record, HASHER))
    assert [c.node for c in store.calls()] == [socket.gethostname()]


def test_a_row_spooled_before_records_named_their_node_is_still_stored(backend):
    store = open_store(backend)
    old = Row.of(Caller().say("Hoorn").record, HASHER)
    del old.call["node"]
    assert store.insert(Row.from_json(old.to_json())) is True
    assert [(c.node, c.record.municipality) for c in store.calls()] == [(None, "Hoorn")]


# ---- migrations ----

def test_a_new_store_is_migrated_to_the_latest_version_once(backend):
    store = open_store(backend)
    assert store.version() == MIGRATIONS[-1][0]
    assert store.migrate() == []
    assert open_store(backend).version() == MIGRATIONS[-1][0]


def test_a_store_from_before_departments_is_migrated_and_keeps_a_calls_department(backend):
    before = [m for m in MIGRATIONS if "department" not in m[1]]
    open_store(backend, migrations=tuple(before)).close()
    store = open_store(backend)
    store.insert(Row.of(Caller().say("Hoorn").record, HASHER))
    store.insert(Row.of(dataclasses.replace(Caller().say("Hoorn").record, department="Burgerzaken"), HASHER))
    assert sorted(str(c.record.department) for c in store.calls()) == ["Burgerzaken", "None"]


LATER = MIGRATIONS + ((MIGRATIONS[-1][0] + 1, "a test column", ("ALTER TABLE calls ADD COLUMN extra TEXT",)),)


def test_a_later_migration_is_applied_to_an_existing_store_keeping_its_calls(backend):
    store = open_store(backend)
    store.insert(Row.of(Caller().say("Hoorn").record, HASHER))
    store.close()
    migrated = open_store(backend, migrations=LATER)
    assert migrated.version() == LATER[-1][0]
    assert [c.record.municipality for c in migrated.calls()] == ["Hoorn"]


def test_a_store_from_a_newer_fourteenplus_is_refused(backend):
    open_store(backend, migrations=LATER).close()
    with pytest.raises(StoreError, match=f"schema version {LATER[-1][0]}, newer"):
        open_store(backend)


def test_purge_removes_old_calls_with_their_attempts(backend):
    store = open_store(backend)
    for age in (3, 1):
        store.insert(Row.of(Caller(started_at=T0 - age * 86400).mumble("eh").say("Hoorn").record, HASHER))
    purged = store.purge(T0 - 2 * 86400)
    assert (purged.calls, purged.attempts, purged.transcripts) == (1, 2, 2)
    assert len(store.calls()) == 1


@pytest.mark.processes
def test_processes_opening_a_new_store_at_once_migrate_it_once(backend):
    # Without the migration lock the losers would fail on CREATE TABLE of an existing table.
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        assert pool.map(_open, [backend] * 8) == [MIGRATIONS[-1][0]] * 8


def test_sqlite_runs_in_wal_mode(tmp_path):
    open_store(settings(tmp_path)).close()
    assert sqlite3.connect(tmp_path / "records.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _open(records: RecordSettings) -> int:
    store = open_store(records)
    try:
        return store.version()
    finally:
        store.close()


# ---- concurrency ----

CALLS_PER_WRITER = 300


def _write_calls(records: RecordSettings, spool: str, prefix: int) -> float:
    """One adapter process: its own writer, many concurrent call tasks (threads here)."""
    w = RecordWriter(records, hasher=HASHER, spool=pathlib.Path(spool), purge_every_s=None)
    started = time.perf_counter()

    def calls(offset: int) -> None:
        for i in range(CALLS_PER_WRITER // 4):
            w.write(Caller(caller=f"06{prefix:02d}{offset:02d}{i:04d}").mumble("eh").say("Hoorn").record)

    threads = [threading.Thread(target=calls, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.close(60)
    assert w.spooled == 0 and w.lost == 0
    return time.perf_counter() - started


@pytest.mark.processes
def test_concurrent_writers_in_several_processes_lose_no_call(tmp_path, backend):
    spool = str(tmp_path / "spool")
    open_store(backend).close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        seconds = pool.starmap(_write_calls, [(backend, spool, n) for n in range(3)])
    calls = open_store(backend).calls()
    assert len(calls) == 3 * CALLS_PER_WRITER
    assert len({c.caller_hash for c in calls}) == 3 * CALLS_PER_WRITER
    assert all(len(c.record.attempts) == 2 for c in calls)
    logging.getLogger(__name__).info("%d calls by 3 processes in %.2f s", len(calls), max(seconds))


# ---- a failing store never fails a call ----

class FlakyStore:
    """Opens only while `up` is set; stands in for a store on a broken disk or network."""

    def __init__(self, records: RecordSettings):
        self.records = records
        self.up = threading.Event()
        self.opened = 0

    def __call__(self, records: RecordSettings):
        self.opened += 1
        if not self.up.is_set():
            raise sqlite3.OperationalError("disk I/O error")
        return open_store(records)


def test_calls_written_while_the_store_is_down_are_spooled_then_stored_once(tmp_path, caplog):
    flaky = FlakyStore(settings(tmp_path))
    w = writer(tmp_path, opener=flaky, retry_delay_s=0.001, down_s=0.0)
    w.write(Caller().say("Hoorn").record)
    w.write(Caller().say("Opmeer").record)
    assert w.flush(5)
    assert w.spooled == 2 and w.written == 0
    assert "disk I/O error" in caplog.text
    spooled = "".join(path.read_text() for path in (tmp_path / "spool").iterdir())
    assert "0612345678" not in spooled and HASHER.hash("0612345678") in spooled
    flaky.up.set()
    w.write(Caller().say("Koggenland").record)
    w.close()
    stored = open_store(settings(tmp_path)).calls()
    assert sorted(c.record.municipality for c in stored) == ["Hoorn", "Koggenland", "Opmeer"]
    assert not list((tmp_path / "spool").iterdir())


def test_spooled_calls_are_stored_when_the_store_is_back_without_waiting_for_another_call(tmp_path):
    flaky = FlakyStore(settings(tmp_path))
    w = writer(tmp_path, opener=flaky, retry_delay_s=0.001, down_s=0.3)
    w.write(Caller().say("Hoorn").record)
    assert w.flush(5) and w.spooled == 1
    flaky.up.set()
    wait_until(lambda: not list((tmp_path / "spool").iterdir()), "the spool replayed into the store that is back")
    assert [c.record.municipality for c in open_store(settings(tmp_path)).calls()] == ["Hoorn"]
    w.close()


def test_while_the_store_is_down_calls_are_not_each_held_up_by_retries(tmp_path):
    flaky = FlakyStore(settings(tmp_path))
    w = writer(tmp_path, opener=flaky, retries=3, retry_delay_s=0.05, down_s=60)
    started = time.perf_counter()
    for _ in range(20):
        w.write(Caller().say("Hoorn").record)
    assert time.perf_counter() - started < 0.05  # write() itself never waits for the store
    assert w.flush(5)
    assert flaky.opened == 3 and w.spooled == 20  # one round of retries, then straight to the spool


def test_a_row_neither_store_nor_spool_takes_is_logged_and_the_call_goes_on(tmp_path, caplog):
    failures = []
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    w = writer(tmp_path, opener=FlakyStore(settings(tmp_path)), retry_delay_s=0.001,
               spool=blocked / "spool", on_failure=lambda: failures.append(1))
    w.write(Caller().say("Hoorn").record)
    w.close()
    assert w.lost == 1 and failures == [1]
    assert "is lost" in caplog.text and "140229" in caplog.text and "0612345678" not in caplog.text


def test_write_never_raises_even_for_a_record_it_cannot_convert(tmp_path, caplog):
    record = Caller().say("Hoorn").record
    record.timings["answer_to_invite"] = object()  # not JSON: a bug in an adapter
    w = writer(tmp_path)
    w.write(record)
    w.close()
    assert "could not be converted" in caplog.text


def test_a_store_that_cannot_open_at_start_does_not_stop_the_writer(tmp_path):
    w = writer(tmp_path, records=settings(tmp_path, path=str(tmp_path / "no" / "such" / "\0bad.db")),
               retry_delay_s=0.001)
    w.write(Caller().say("Hoorn").record)
    w.close()
    assert w.spooled == 1


@pytest.fixture
def full_disk(tmp_path):
    """A real file system with no space left (a 2 MiB tmpfs, filled); root only."""
    mount = tmp_path / "full"
    mount.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs here: {exc}")
    try:
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):  # until ENOSPC
            while os.write(fd, b"\0" * 4096):
                pass
        os.close(fd)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_fault_disk_full_calls_are_spooled_elsewhere_then_stored_when_space_returns(tmp_path, full_disk):
    records = settings(tmp_path, path=str(full_disk / "records.db"))
    w = writer(tmp_path, records=records, retry_delay_s=0.001, down_s=0.0)
    w.write(Caller().say("Hoorn").record)
    assert w.flush(10)
    assert w.spooled == 1 and w.written == 0 and w.lost == 0
    (full_disk / "filler").unlink()  # space again
    w.write(Caller().say("Opmeer").record)
    w.close()
    assert sorted(c.record.municipality for c in open_store(records).calls()) == ["Hoorn", "Opmeer"]


def test_fault_disk_full_for_store_and_spool_loses_the_row_loudly_never_the_call(tmp_path, full_disk, caplog):
    w = writer(tmp_path, records=settings(tmp_path, path=str(full_disk / "records.db")),
               spool=full_disk / "spool", retry_delay_s=0.001)
    w.write(Caller().say("Hoorn").record)  # never raises, never blocks
    w.close()
    assert w.lost == 1 and "is lost" in caplog.text
