"""Session fixtures for the end-to-end tests: a real Asterisk 22 (from the cache, built the
first time), the SIPp trunk endpoint, and the ARI app as its own process.

Everything started here is stopped here, by process id. The tests need root (chroot) and
sipp, espeak-ng and sox; without them they are skipped, saying why.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import threading
import urllib.request
from pathlib import Path

import pytest

from fourteenplus import asterisk, asterisk_config, sipp
from fourteenplus.config import load_service
from fourteenplus.records import open_store
from fourteenplus_dev.app import AppProcess

from ..waiting import polled, wait_until

SERVICE = Path(__file__).with_name("service.yaml")


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def service_yaml(tmp_path_factory) -> Path:
    """The test configuration, with its call records kept out of the installation's."""
    path = tmp_path_factory.mktemp("service") / "service.yaml"
    path.write_text(SERVICE.read_text() + f"\nrecords:\n  path: {path.parent / 'records.db'}\n")
    return path


@pytest.fixture(scope="session")
def unsure_yaml(service_yaml) -> Path:
    """The same service where nothing is sure enough to transfer without asking (accept 1.0),
    so the confirmation path runs whatever score the recogniser gives a clear name, and the
    runner-up is always asked about after a nee."""
    path = service_yaml.with_name("unsure.yaml")
    text = re.sub(r"accept: [0-9.]+", "accept: 1.0", service_yaml.read_text())
    # Any runner-up is asked about after a nee, so that question always comes.
    # (`\b`: not department_confirm, which would get a second runner_up.)
    path.write_text(re.sub(r"\bconfirm: [0-9.]+", "confirm: 0.3\n  runner_up: 0.0", text))
    return path


@pytest.fixture(scope="session")
def running_asterisk(service_yaml):
    missing = [tool for tool in ("sipp", "espeak-ng", "sox") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"missing {', '.join(missing)} (make system-packages)")
    if os.geteuid() != 0:
        pytest.skip("the bundled Asterisk runs chrooted: run the integration tests as root")
    if asterisk.running_pid():
        pytest.fail("an Asterisk started by fourteenplus is already running; "
                    "stop it first: fourteenplus asterisk stop")
    asterisk.build()
    asterisk.install(load_service(service_yaml))
    asterisk.start()
    yield
    asterisk.stop()


@pytest.fixture(scope="session")
def trunk(running_asterisk, tmp_path_factory):
    with sipp.Trunk(tmp_path_factory.mktemp("trunk")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def app(trunk, service_yaml):
    process = AppProcess(service_yaml, service_yaml.parent / "app.log")
    process.start()
    yield process
    process.stop()


def placer(trunk, workdir: Path):
    """call(number, script, hangup_after_ms=0, line=None, caller=None, law="ulaw") → CallResult,
    through the running Asterisk; `line`: a recording of the caller's surroundings under
    everything they send; `caller`: the caller's number (default: a new one each call); `law`:
    the one G.711 law the caller offers (alaw: PCMA, as a Dutch carrier's line)."""
    def place(number: str, script=(), hangup_after_ms: int = 0, line=None, caller=None, law: str = "ulaw"):
        return sipp.place_call(number, list(script), trunk, hangup_after_ms=hangup_after_ms, workdir=workdir, line=line,
                               caller=caller, law=law)
    return place


@pytest.fixture
def call(app, trunk, tmp_path):
    return placer(trunk, tmp_path)


@pytest.fixture(scope="module")
def agi_app(app, service_yaml):
    """The bundled callers sent to [fourteenplus-in-agi] and `fourteenplus agi` serving them,
    for one module; the ARI set-up is restored after it."""
    asterisk.install(load_service(service_yaml), agi=True)
    asterisk.reload()
    process = AppProcess(service_yaml, service_yaml.parent / "agi.log", command="agi")
    process.start()
    yield process
    process.stop()
    asterisk.install(load_service(service_yaml))
    asterisk.reload()


@pytest.fixture
def agi_call(agi_app, trunk, tmp_path):
    return placer(trunk, tmp_path)


def log_size(app: AppProcess) -> int:
    return app.log.stat().st_size if app.log.exists() else 0


def wait_for_log(app: AppProcess, text: str, since: int, timeout_s: float = 30.0) -> str:
    """The app's log from byte `since` once it holds `text` (fails after `timeout_s`)."""
    def written() -> str:
        with open(app.log, "rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")

    def holding() -> str:
        new = written()
        return new if text in new else ""

    return wait_until(holding, lambda: f"{text!r} in the app's log:\n{written()[-3000:]}", timeout_s, every_s=0.2)


# The app (run -v) logs each action: a caller in the conversation at the question listens.
AT_THE_QUESTION = "Listen(mode='name'"


def in_background(target) -> tuple[threading.Thread, dict]:
    """Run `target` in a thread; its return value lands in the dict under "result"."""
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(result=target()))
    thread.start()
    return thread, out


def stop_mid_call(process: AppProcess, trunk, workdir: Path, drain_timeout_s: float = 40):
    """SIGTERM the app (ARI or AGI) while a caller is at the question, then place a second call.

    The first caller's conversation should go on and its spoken name route it (Koggenland);
    the second caller should meet the dialplan's keypad menu, where its spoken name is not
    heard and key 2 is Medemblik. The app must exit by itself; it is started again after.
    Returns the two CallResults."""
    config = process.config
    since = log_size(process)
    thread, first = in_background(lambda: sipp.place_call(
        "140229", [sipp.WaitPrompt(), sipp.Say("Koggenland")], trunk, workdir=workdir / "first"))
    wait_for_log(process, AT_THE_QUESTION, since)
    since = log_size(process)
    process.process.send_signal(signal.SIGTERM)
    try:
        wait_for_log(process, "no new calls", since)
        second = sipp.place_call("140229", [sipp.WaitPrompt(), sipp.Say("Koggenland"), sipp.WaitPrompt(),
                                            sipp.PressKeys("2")], trunk, workdir=workdir / "second")
        thread.join(120)
        assert process.process.wait(timeout=drain_timeout_s) == 0, "the app exits once the call has left it"
    finally:
        process.closed()
        process.start(config)
    return first["result"], second


def stored_calls(service_yaml: Path, dialled: str, since: float = 0.0) -> list:
    """The stored records of calls to `dialled` that started at `since` (epoch s) or later."""
    store = open_store(load_service(service_yaml).records)
    try:
        return [c.record for c in store.calls() if c.record.dialled == dialled and c.record.started_at >= since]
    finally:
        store.close()


def stored(service_yaml: Path, dialled: str, since: float = 0.0):
    """The newest such record once its dial result is in (≤ 10 s), else as it is, or None."""
    calls = polled(lambda: stored_calls(service_yaml, dialled, since), lambda calls: calls and calls[-1].dial_status,
                   10, every_s=0.5)
    return calls[-1] if calls else None


def ari_channels() -> list[dict]:
    """The channels the bundled Asterisk has now (ARI's JSON: id, name, …)."""
    return ari_get("channels")


def ari_get(resource: str):
    """ARI's JSON answer to GET /ari/<resource> on the bundled Asterisk, as the generated user."""
    creds = asterisk_config.credentials()
    request = urllib.request.Request(asterisk_config.ARI_URL + "ari/" + resource)
    token = base64.b64encode(f"{creds.ari_user}:{creds.ari_password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def the_callers_channel(timeout_s: float = 30.0) -> dict:
    """The caller's channel once it is up: the one SIP channel before any trunk is dialled."""
    def caller() -> dict | None:
        sip = [channel for channel in ari_channels() if channel["name"].startswith("PJSIP/")]
        return sip[0] if len(sip) == 1 else None

    return wait_until(caller, lambda: f"the caller's channel alone: {ari_channels()}", timeout_s, every_s=0.1)
