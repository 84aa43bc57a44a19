"""systemd's notify protocol without a dependency: READY=1 and the event loop's WATCHDOG=1
reach a socket in $NOTIFY_SOCKET, a filesystem path or an abstract ("@") name."""

from __future__ import annotations

import os
import socket

import anyio
import pytest

from fourteenplus import sdnotify


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request, tmp_path, monkeypatch):
    """A datagram socket standing in for systemd's, named in $NOTIFY_SOCKET."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        sock.bind(str(tmp_path / "notify"))
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    else:
        name = f"fourteenplus-test-{os.getpid()}-{id(sock)}"
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    sock.settimeout(5)  # a datagram that never comes fails the test instead of hanging it
    yield sock
    sock.close()


def test_ready_tells_systemd_and_prints_ready(notify_socket, capsys):
    sdnotify.ready()
    assert notify_socket.recv(256) == b"READY=1"
    assert capsys.readouterr().out == "ready\n"


def test_the_event_loop_feeds_the_watchdog_at_half_its_period(notify_socket, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "40000")  # pings every 20 ms
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 0.02

    async def main():
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sdnotify.watchdog)
            pings = [await anyio.to_thread.run_sync(notify_socket.recv, 256) for _ in range(3)]
            tasks.cancel_scope.cancel()
        return pings

    assert anyio.run(main) == [b"WATCHDOG=1"] * 3


@pytest.mark.parametrize("usec, pid", [(None, None), ("0", None), ("40000", "1")])
def test_no_watchdog_when_systemd_watches_nothing_or_another_process(monkeypatch, usec, pid):
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert sdnotify.watchdog_interval() is None
    anyio.run(sdnotify.watchdog)  # returns at once instead of pinging for ever


def test_outside_systemd_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False


def test_fault_a_notify_socket_that_is_gone_does_not_stop_the_app(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert sdnotify.notify("READY=1") is False
    assert "not sent" in caplog.text
