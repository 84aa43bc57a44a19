"""Telling systemd how the app is (`Type=notify`, `WatchdogSec=`), without a dependency.

systemd passes a datagram socket in $NOTIFY_SOCKET (a path, or "@name" for the abstract
namespace); `READY=1` says the app takes calls, `WATCHDOG=1` that its event loop still runs.
`watchdog()` is a task on that loop: a wedged loop stops sending, and systemd restarts the app
after WatchdogSec. Outside systemd (no $NOTIFY_SOCKET) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

import anyio

log = logging.getLogger("fourteenplus")


def notify(state: str) -> bool:
    """Send `state` ("READY=1", "WATCHDOG=1", ...) to systemd; False when not under it or it failed."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), address)
        return True
    except OSError as exc:
        log.warning("systemd notification %s not sent to %s: %s", state, address, exc)
        return False


def ready() -> None:
    """The app takes calls: "ready" on stdout for a person or a test, READY=1 for systemd."""
    print("ready", flush=True)
    notify("READY=1")


def watchdog_interval() -> float | None:
    """Seconds between pings: half of systemd's WatchdogSec, so one late ping is not fatal;
    None when systemd watches nothing (or watches another process)."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6


async def watchdog() -> None:
    """Ping systemd's watchdog from the event loop for as long as the task runs."""
    interval = watchdog_interval()
    if interval is None or not os.environ.get("NOTIFY_SOCKET"):
        return
    while True:
        notify("WATCHDOG=1")
        await anyio.sleep(interval)
