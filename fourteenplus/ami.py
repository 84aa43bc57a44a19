"""Health through the Asterisk Manager Interface (panoramisk), for people and for probes.

`health()` takes one snapshot: Asterisk's version and uptime, the active 14+ calls, each
trunk's endpoint state, whether the call-handling side is there (the ARI app registered, or
the FastAGI server accepting connections), and what that app's own `/readyz` says of itself
(the model loaded, the record store taking records or the spool holding them). `DialEvents`
keeps one AMI connection for the FastAGI server, to learn how each dial went, reconnecting
with back-off when Asterisk restarts and never raising into its host.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import panoramisk

from . import asterisk_config, metrics
from .config import AsteriskSettings

log = logging.getLogger(__name__)

AMI_PORT = AsteriskSettings.ami_port
DIAL_EVENT = "FourteenplusDial"  # data/dialplan/fourteenplus.conf, [fourteenplus-dial] h extension
MAX_BACKOFF_S = 30.0
# Channels of ours: the contexts our dialplan defines, or parked in our Stasis app.
OUR_CONTEXTS = ("fourteenplus-",)
# How the ARI app hears a caller (a snoop channel bridged with an externalMedia one): channels
# of ours in Stasis that are nobody on the line.
MEDIA_TECHNOLOGIES = ("Snoop/", "UnicastRTP/")
# Where each side's app answers /readyz: the ports `run` and `agi` (and so the units) serve on.
READYZ_PORTS = {"ari": metrics.DEFAULT_PORT, "agi": metrics.AGI_PORT}
COMMANDS = {"ari": "run", "agi": "agi"}


class AmiUnavailable(RuntimeError):
    pass


class Manager(panoramisk.Manager):
    """panoramisk's Manager with doubling back-off between reconnects and a close that stays closed.

    panoramisk retries every `reconnect_timeout` seconds forever; a restarting Asterisk is
    better served by 1, 2, 4 … 30 s, reset once a login succeeds.
    """

    reconnect_timeout: float  # panoramisk's, in seconds

    def __init__(self, **config):
        super().__init__(**config)
        self.closed = False
        self.logged_in = asyncio.get_running_loop().create_future()

    def connection_made(self, f):
        if self.closed:
            if not f.cancelled() and f.exception() is None:
                f.result()[0].close()
            return
        if not f.cancelled() and f.exception() is not None:
            self.reconnect_timeout = min(max(self.reconnect_timeout, 1) * 2, MAX_BACKOFF_S)
            if not self.logged_in.done():
                self.logged_in.set_exception(AmiUnavailable(f"AMI not reachable: {f.exception()}"))
        super().connection_made(f)

    def login(self, future):
        ok = super().login(future)
        if ok:
            self.reconnect_timeout = 1
        if not self.logged_in.done():
            if ok:
                self.logged_in.set_result(True)
            else:
                self.logged_in.set_exception(AmiUnavailable("AMI login refused: check the generated credentials"))
        return ok

    def connection_lost(self, exc):
        if not self.closed:
            super().connection_lost(exc)

    def close(self):
        self.closed = True
        super().close()


async def connect(user: str, secret: str, host: str = "127.0.0.1", port: int = AMI_PORT,
                  timeout: float = 3.0, events: str = "off") -> Manager:
    manager = Manager(loop=asyncio.get_running_loop(), host=host, port=port, username=user,
                      secret=secret, events=events, reconnect_timeout=1, ping_delay=10)
    manager.connect()
    try:
        await asyncio.wait_for(asyncio.shield(manager.logged_in), timeout)
    except asyncio.TimeoutError:
        manager.close()
        raise AmiUnavailable(f"no AMI answer on {host}:{port} within {timeout:g} s") from None
    except AmiUnavailable:
        manager.close()
        raise
    return manager


@dataclass
class Health:
    asterisk: bool = False
    version: str | None = None
    uptime_s: int | None = None
    calls: int = 0                           # callers on the line in our contexts or our Stasis app
    trunks: dict[str, str] = field(default_factory=dict)   # endpoint → device state
    ari_app: bool | None = None              # None: not asked
    agi_server: bool | None = None
    # Per side that is there ("ari", "agi"): its app's /readyz ({"ready", "checks"}), None when
    # nothing answers there (metrics off, or on another --metrics-port).
    readiness: dict[str, dict | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "ok": self.ok}, indent=2)


def _as_list(reply) -> list:
    return reply if isinstance(reply, list) else [reply]


async def snapshot(manager: Manager, health: Health) -> None:
    settings = await manager.send_action({"Action": "CoreSettings"})
    health.version = settings.get("AsteriskVersion")
    status = await manager.send_action({"Action": "CoreStatus"})
    uptime = f"{status.get('CoreStartupDate', '')} {status.get('CoreStartupTime', '')}".strip()
    health.uptime_s = _seconds_since(uptime)
    channels = await manager.send_action({"Action": "CoreShowChannels"})
    health.calls = callers(_as_list(channels))
    endpoints = await manager.send_action({"Action": "PJSIPShowEndpoints"})
    health.trunks = {
        msg["ObjectName"]: msg.get("DeviceState", "Unknown")
        for msg in _as_list(endpoints)
        if msg.get("Event") == "EndpointList" and "trunk" in msg.get("ObjectName", "")}
    for name, state in health.trunks.items():
        if state in ("Unavailable", "Invalid"):
            health.problems.append(f"trunk {name} is {state.lower()}")


def callers(channels: list) -> int:
    """Callers among CoreShowChannels' replies: channels of ours that started their call (the
    trunk leg a transfer dials shares the caller's Linkedid) and are not the app's ears."""
    return sum(
        1 for msg in channels
        if msg.get("Event") == "CoreShowChannel"
        and (msg.get("Context", "").startswith(OUR_CONTEXTS) or msg.get("Application") == "Stasis")
        and not msg.get("Channel", "").startswith(MEDIA_TECHNOLOGIES)
        and msg.get("Uniqueid") == msg.get("Linkedid", msg.get("Uniqueid")))


def _seconds_since(stamp: str) -> int | None:
    try:
        started = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return max(0, int((dt.datetime.now() - started).total_seconds()))


def ari_app_registered(user: str, password: str, app: str, url: str, timeout: float = 2.0) -> bool:
    """Whether `app` is registered with the ARI at `url` (its base, http://host:port/)."""
    request = urllib.request.Request(url + "ari/applications/" + app)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


async def agi_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def app_readiness(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> dict | None:
    """The app's /readyz on `port`: its JSON ({"ready": …, "checks": {name: passed}}), a 503's
    included; None when nothing answers there as the app would."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/readyz", timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as refused:
        body = refused.read()
    except (urllib.error.URLError, OSError):
        return None
    try:
        ready = json.loads(body)
    except ValueError:
        return None
    return ready if isinstance(ready, dict) and isinstance(ready.get("checks"), dict) else None


async def health(creds, settings: AsteriskSettings, mode: str = "ari", app: str = asterisk_config.ARI_APP,
                 timeout: float = 3.0, readyz_ports: dict[str, int] = READYZ_PORTS) -> Health:
    """One snapshot. `mode` says which call-handling side is needed: ari, agi or either; where
    each is comes from the configuration's `asterisk:` section (AMI's address, ARI's URL and
    the user the app logs in as, the FastAGI address)."""
    result = Health()
    try:
        manager = await connect(creds.ami_user, creds.ami_secret, settings.ami_host, settings.ami_port,
                                timeout=timeout)
    except AmiUnavailable as exc:
        result.problems.append(f"Asterisk is down or unreachable: {exc}")
        return result
    try:
        result.asterisk = True
        await asyncio.wait_for(snapshot(manager, result), timeout)
    except asyncio.TimeoutError:
        result.problems.append("Asterisk did not answer the AMI status actions in time")
    finally:
        manager.close()
    if mode in ("ari", "either"):
        try:
            user, password = asterisk_config.ari_login(settings)
        except asterisk_config.AsteriskError as exc:
            result.problems.append(f"cannot ask ARI: {exc}")
            result.ari_app = False
        else:
            result.ari_app = await asyncio.to_thread(ari_app_registered, user, password, app,
                                                     asterisk_config.ari_url(settings))
    if mode in ("agi", "either"):
        result.agi_server = await agi_reachable(settings.agi_host, settings.agi_port)
    for side, there in (("ari", result.ari_app), ("agi", result.agi_server)):
        if there and readyz_ports[side]:  # 0: not asked
            result.readiness[side] = ready = await asyncio.to_thread(app_readiness, readyz_ports[side])
            if ready is not None and not ready.get("ready"):
                failing = ", ".join(name for name, passed in sorted(ready["checks"].items()) if not passed)
                result.problems.append(f"`fourteenplus {COMMANDS[side]}` is not ready: {failing or '?'} failing "
                                       f"(its /readyz on 127.0.0.1:{readyz_ports[side]})")
    handlers = [v for v in (result.ari_app, result.agi_server) if v is not None]
    if handlers and not any(handlers):
        result.problems.append(
            {"ari": "the ARI app is not registered: run `fourteenplus run`",
             "agi": "the FastAGI server is not reachable: run `fourteenplus agi`",
             "either": "neither the ARI app nor the FastAGI server is there"}[mode])
    return result


class DialEvents:
    """How each dial went, for the FastAGI server, whose script has ended before the dial:
    the dialplan's `h` extension in [fourteenplus-dial] sends a FourteenplusDial user event
    (status, and overflow when one was tried), which AMI delivers with the channel's unique id.

    Keeps one AMI connection with events on, reconnecting with back-off when Asterisk goes
    away; failures are logged, never raised into the host. `on_result(uniqueid, status,
    overflow)` runs in the event loop for every such event, and with status None when a
    channel hangs up without one. `address`: AMI's host and port (`asterisk.ami`)."""

    def __init__(self, creds, on_result: Callable[[str, str | None, str | None], None],
                 address: tuple[str, int] = ("127.0.0.1", AMI_PORT)):
        self.creds = creds
        self.on_result = on_result
        self.address = address
        self.connected = False

    async def run(self) -> None:
        delay = 1.0
        while True:
            try:
                manager = await connect(self.creds.ami_user, self.creds.ami_secret, *self.address, events="on")
            except AmiUnavailable as exc:
                log.warning("AMI: %s; no dial results until it is back (retrying in %.0f s)", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            delay = 1.0
            manager.register_event("UserEvent", self._user_event)
            manager.register_event("Hangup", self._hangup)
            self.connected = True
            try:
                # panoramisk drops `authenticated` when the connection goes; start afresh then.
                while not manager.closed and manager.authenticated:
                    await asyncio.sleep(1.0)
                log.warning("AMI connection lost; reconnecting for dial results")
            finally:
                self.connected = False
                manager.close()

    def _user_event(self, manager, message) -> None:
        if message.get("UserEvent") == DIAL_EVENT and message.get("Uniqueid"):
            self.on_result(message["Uniqueid"], message.get("status") or None, message.get("overflow") or None)

    def _hangup(self, manager, message) -> None:
        if message.get("Uniqueid"):
            self.on_result(message["Uniqueid"], None, None)
