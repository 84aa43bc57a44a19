"""No record lost, none twice: a PostgreSQL that stops answering, a spool that crashes or fills,
two adapters on one state directory."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time

import pytest

from fourteenplus.config import RecordSettings
from fourteenplus.records import CallerHasher, RecordWriter, open_store
from fourteenplus.records import store as store_module

from .record_backends import fresh_database
from .scripted_calls import Caller

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
