"""No record lost, none twice: a PostgreSQL that stops answering, a spool that crashes or fills,
two adapters on one state directory."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import pathlib
import signal
import socket
import sqlite3
import threading
import time

import pytest

from fourteenplus.config import RecordSettings
from fourteenplus.metrics import Metrics
from fourteenplus.cli import main
from fourteenplus.records import (
    AudioArchive, CallerHasher, CallRecord, PurgeRefused, RecordWriter, Row, open_store, purge,
)
from fourteenplus.records import store as store_module

from ..waiting import wait_until
from .record_backends import backend, configuration_with_store, fresh_database  # noqa: F401  (backend: a fixture)
from .scripted_calls import DAY, Caller

HASHER = CallerHasher(b"f" * 32)


class SilentProxy:
    """A TCP proxy on 127.0.0.1 in front of a PostgreSQL (TCP or its unix socket) that can stop
    forwarding: what either side sends is then read and dropped, as on a network that lost the
    host, never refused."""

    def __init__(self, upstream: tuple[int, object]):
        self.upstream = upstream  # (family, address)
        self.forwarding = threading.Event()
        self.forwarding.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(self.upstream[0], socket.SOCK_STREAM)
            server.connect(self.upstream[1])
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if self.forwarding.is_set():
                    sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def upstream_of(url: str) -> tuple[int, object]:
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    host, port = info.get("host") or "127.0.0.1", int(info.get("port") or 5432)
    if host.startswith("/"):
        return socket.AF_UNIX, f"{host}/.s.PGSQL.{port}"
    return socket.AF_INET, (host, port)


@pytest.fixture
def proxied_postgres(postgres_url):
    """(settings of an empty database reached through a SilentProxy, the proxy)."""
    from psycopg.conninfo import conninfo_to_dict

    with fresh_database(postgres_url) as url:
        proxy = SilentProxy(upstream_of(url))
        info = conninfo_to_dict(url)
        proxied = f"postgresql://{info['user']}@127.0.0.1:{proxy.port}/{info['dbname']}?connect_timeout=2"
        try:
            yield RecordSettings(None, proxied, 90, False, 7), url, proxy
        finally:
            proxy.close()


def test_fault_postgres_that_stops_answering_spools_the_call_within_seconds(proxied_postgres, tmp_path,
                                                                            monkeypatch, caplog):
    settings, direct_url, proxy = proxied_postgres
    monkeypatch.setattr(store_module, "PG_TRANSACTION_DEADLINE_S", 2.0)
    w = RecordWriter(settings, hasher=HASHER, spool=tmp_path / "spool", retries=1, retry_delay_s=0.01,
                     down_s=0.0, purge_every_s=None)
    try:
        w.write(Caller().say("Hoorn").record)
        assert w.flush(10) and w.written == 1  # connected, through the proxy
        proxy.forwarding.clear()  # the host is gone: nothing comes back, nothing is refused
        started = time.monotonic()
        w.write(Caller().say("Opmeer").record)  # on the open connection: the deadline cuts it
        w.write(Caller().say("Medemblik").record)  # on a new one: the connect timeout
        assert w.flush(20), "the writer is stuck on a PostgreSQL that does not answer"
        elapsed = time.monotonic() - started
        assert w.spooled == 2 and w.lost == 0
        assert elapsed < 8, f"two spooled calls took {elapsed:.1f} s"
        assert "did not answer within 2 s" in caplog.text
        proxy.forwarding.set()  # back: the next call is stored and the spool replayed
        w.write(Caller().say("Koggenland").record)
        assert w.flush(10)
    finally:
        w.close()
    stored = open_store(dataclasses.replace(settings, url=direct_url)).calls()
    assert sorted(c.record.municipality for c in stored) == ["Hoorn", "Koggenland", "Medemblik", "Opmeer"]
    logging.getLogger(__name__).info("2 calls spooled %.1f s after PostgreSQL stopped answering", elapsed)


# ---- the spool ----

def settings(tmp_path, **changes) -> RecordSettings:
    return dataclasses.replace(RecordSettings(str(tmp_path / "records.db"), None, 90, False, 7), **changes)


def down(records: RecordSettings):
    raise sqlite3.OperationalError("disk I/O error")


def writer(tmp_path, opener=down, records=None, **options) -> RecordWriter:
    return RecordWriter(records or settings(tmp_path), hasher=HASHER, spool=tmp_path / "spool", retries=1,
                        retry_delay_s=0.001, down_s=0.0, purge_every_s=None, opener=opener, **options)


def stored(tmp_path) -> list[str | None]:
    return sorted(c.record.municipality or "" for c in open_store(settings(tmp_path)).calls())


def _killed_while_spooling(spool: str) -> None:
    """An adapter process killed (SIGKILL) in the middle of writing a call into the spool."""
    os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # after the write, before the rename
    w = RecordWriter(RecordSettings(None, None, 90, False, 7), hasher=HASHER, spool=pathlib.Path(spool),
                     retries=1, retry_delay_s=0.001, purge_every_s=None, opener=down)
    w.write(CallRecord("140229", municipality="Hoorn"))
    w.flush(30)


def test_fault_a_process_killed_while_spooling_leaves_nothing_that_replay_stores_or_trips_on(tmp_path, caplog):
    spool = tmp_path / "spool"
    killed = multiprocessing.get_context("spawn").Process(target=_killed_while_spooling, args=(str(spool),))
    killed.start()
    killed.join(60)
    assert killed.exitcode == -signal.SIGKILL, "the writer was not killed mid-write"
    [left] = list(spool.iterdir())
    assert left.name.endswith(".tmp")  # the whole row written, never renamed: it does not count
    left.write_text(left.read_text()[:40])  # and torn, as a power cut may leave it
    w = writer(tmp_path)
    w.write(CallRecord("140229", municipality="Opmeer"))
    assert w.flush(10) and w.spooled == 1
    w.close()
    w = writer(tmp_path, opener=open_store)
    w.write(CallRecord("140229", municipality="Koggenland"))  # the store is back: the spool is replayed
    assert w.flush(10)
    assert stored(tmp_path) == ["Koggenland", "Opmeer"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [p.name for p in spool.iterdir()] == [left.name]  # a write in progress, for all replay knows
    os.utime(left, (time.time() - 7200, time.time() - 7200))  # until it is clearly a crash's leftover
    w.write(CallRecord("140229", municipality="Medemblik"))
    w.close()
    assert not list(spool.iterdir()) and "a crash cut short" in caplog.text


def _killed_mid_outage(spool: str, calls: int) -> None:
    """An adapter process whose store is down, killed (SIGKILL) once its calls are spooled."""
    w = RecordWriter(RecordSettings(None, None, 90, False, 7), hasher=HASHER, spool=pathlib.Path(spool),
                     retries=1, retry_delay_s=0.001, down_s=60, purge_every_s=None, opener=down)
    for i in range(calls):
        w.write(CallRecord("140229", municipality=f"call {i}"))
    w.flush(30)
    os.kill(os.getpid(), signal.SIGKILL)


def test_fault_an_app_killed_mid_outage_loses_none_of_its_spooled_calls(tmp_path):
    killed = multiprocessing.get_context("spawn").Process(target=_killed_mid_outage,
                                                          args=(str(tmp_path / "spool"), 5))
    killed.start()
    killed.join(60)
    assert killed.exitcode == -signal.SIGKILL
    w = writer(tmp_path, opener=open_store)  # the app started again, its store back
    w.write(CallRecord("140229", municipality="after"))
    w.close()
    assert stored(tmp_path) == ["after", *(f"call {i}" for i in range(5))]


def test_fault_a_full_spool_loses_the_call_counted_and_logged(tmp_path, caplog):
    metrics = Metrics()
    w = writer(tmp_path, records=settings(tmp_path, spool_max=2), on_lost=metrics.record_lost)
    for name in ("Hoorn", "Opmeer", "Medemblik"):
        w.write(CallRecord("140229", municipality=name))
    w.close()
    assert (w.spooled, w.lost) == (2, 1)
    assert "fourteenplus_records_lost_total 1.0" in metrics.render()
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "is lost" in error.getMessage() and "the spool is full (2 calls, records.spool_max 2)" in error.getMessage()


def test_fault_two_adapters_on_one_spool_keep_each_others_calls(tmp_path):
    """`run` replays the spool while `agi`, on the same state directory, spools a call."""
    replaying, go_on = threading.Event(), threading.Event()

    class HeldStore:
        """The real store, whose insert of the replayed call waits until told to go on."""

        def __init__(self, records):
            self.store = open_store(records)

        def insert(self, row):
            if row.call["municipality"] == "Hoorn":
                replaying.set()
                assert go_on.wait(10)
            return self.store.insert(row)

        def close(self):
            self.store.close()

    up = threading.Event()
    run = writer(tmp_path, opener=lambda records: HeldStore(records) if up.is_set() else down(records))
    agi = writer(tmp_path)
    run.write(CallRecord("140229", municipality="Hoorn"))
    assert run.flush(10) and run.spooled == 1
    up.set()
    run.write(CallRecord("140229", municipality="Opmeer"))  # stored; then the spool is replayed
    assert replaying.wait(10)
    agi.write(CallRecord("140229", municipality="Medemblik"))  # spooled while run replays
    assert agi.flush(10) and agi.spooled == 1
    go_on.set()
    assert run.flush(10)
    run.write(CallRecord("140229", municipality="Koggenland"))  # the next replay stores agi's call
    run.close()
    agi.close()
    assert stored(tmp_path) == ["Hoorn", "Koggenland", "Medemblik", "Opmeer"]


def test_calls_an_older_fourteenplus_spooled_into_one_file_are_stored(tmp_path, caplog):
    rows = [Row.of(CallRecord("140229", municipality=name), HASHER).to_json() for name in ("Hoorn", "Opmeer")]
    (tmp_path / "records-spool.jsonl").write_text("\n".join(rows) + '\n{"call": {"call_id": "to')  # torn
    w = writer(tmp_path, opener=open_store)
    w.write(CallRecord("140229", municipality="Koggenland"))
    w.close()
    assert stored(tmp_path) == ["Hoorn", "Koggenland", "Opmeer"]
    assert not (tmp_path / "records-spool.jsonl").exists() and "unreadable line" in caplog.text


# ---- a clock ahead at boot ----

def calls_aged(records: RecordSettings, *days: float) -> None:
    store = open_store(records)
    for age in days:
        store.insert(Row.of(Caller(started_at=time.time() - age * DAY).say("Hoorn").record, HASHER))
    store.close()


def test_fault_a_clock_years_ahead_purges_nothing_and_says_why(tmp_path):
    records = settings(tmp_path)  # 90 days
    calls_aged(records, 100, 1)
    store, archive, now = open_store(records), AudioArchive(records, tmp_path / "audio"), time.time()
    with pytest.raises(PurgeRefused, match=r"the clock says .*more than the retention \(90 days\) after the newest"):
        purge(records, store, archive, now + 365 * DAY)
    assert len(store.calls()) == 2
    assert purge(records, store, archive, now).calls == 1  # the right clock removes what is too old
    assert purge(records, store, archive, now + 365 * DAY, force=True).calls == 1


def test_fault_the_running_app_refuses_a_purge_of_every_record_with_an_error_line(tmp_path, caplog):
    records = settings(tmp_path)
    calls_aged(records, 200, 100)  # as a clock 10 days and more ahead sees yesterday's calls
    w = RecordWriter(records, hasher=HASHER, spool=tmp_path / "spool", purge_every_s=3600)
    try:
        wait_until(lambda: "record retention" in caplog.text, "the writer's purge at its start to log its refusal")
    finally:
        w.close()
    [line] = [r for r in caplog.records if "record retention" in r.getMessage()]
    assert line.levelno == logging.ERROR and "nothing removed" in line.getMessage()
    assert len(open_store(records).calls()) == 2


def test_fault_the_purge_command_refuses_to_remove_every_record_and_says_so(tmp_path, monkeypatch, capsys):
    config, records = configuration_with_store(tmp_path, monkeypatch, retention_days=30)
    calls_aged(records, 100, 40)
    assert main(["purge", "--config", str(config)]) == 1
    assert "purge: refused, nothing removed: the clock says" in capsys.readouterr().err
    assert len(open_store(records).calls()) == 2
    assert main(["purge", "--config", str(config), "--force"]) == 0
    assert "removed 2 calls" in capsys.readouterr().out


def test_a_purge_in_batches_removes_and_counts_exactly_the_old_calls(backend, monkeypatch):
    monkeypatch.setattr(store_module, "PURGE_BATCH", 2)
    store = open_store(backend)
    for age in (100, 99, 98, 97, 96, 1):
        store.insert(Row.of(Caller(started_at=time.time() - age * DAY).silence().say("Hoorn", "hoorn").record, HASHER))
    purged = store.purge(time.time() - 90 * DAY)
    assert (purged.calls, purged.attempts, purged.transcripts) == (5, 10, 5)
    assert len(store.calls()) == 1
