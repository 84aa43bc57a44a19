"""Faults at the far end: trunks that refuse or never answer. Every call still ends at a
municipality's trunk or at a deliberate spoken message."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import threading
import time

import numpy as np

from fourteenplus import asterisk, asterisk_layout, prompts, sipp
from fourteenplus.config import load_service
from fourteenplus.sipp import PressKeys, Say, WaitPrompt
from fourteenplus.speech.audio import decode

from ..waiting import wait_until
from .conftest import AT_THE_QUESTION, in_background, log_size, stop_mid_call, stored, stored_calls, wait_for_log


def users(result) -> list[str]:
    return [invite.user for invite in result.invites]


def test_fault_trunk_503_goes_to_its_overflow_and_the_record_says_so(call, service_yaml):
    result = call("140111")
    assert users(result) == ["unavailable-schouwen", "regio-zeeland"]
    assert result.reached.municipality == "Schouwen-Duiveland"
    record = stored(service_yaml, "140111")
    assert record.dial_status == "CONGESTION" and record.overflow_status == "ANSWER", record


def test_fault_trunk_never_answers_and_no_overflow_the_caller_hears_a_message(call, service_yaml):
    result = call("140114")
    assert users(result) == ["noanswer-hulst"]
    assert result.reached is None
    assert result.first_audio_at is not None, "the caller hears that the municipality was not reached"
    assert result.ended == "Asterisk hung up"
    assert stored(service_yaml, "140114").dial_status == "NOANSWER"
    assert 420 <= ringback_hz(result.heard) <= 430, "Dutch ringback (425 Hz), not the American 440 + 480 Hz"


def ringback_hz(heard: bytes) -> float:
    """The strongest frequency in the first 4 s the caller heard: the ringback while it rang."""
    samples = decode(heard[:4 * 8000], "ulaw")
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / 8000)[np.argmax(spectrum)])


def test_fault_app_killed_mid_call_the_caller_reaches_the_keypad_menu(app, trunk, tmp_path):
    """SIGKILL during the question: on restart the app hands the waiting caller to the
    dialplan's keypad menu (2 is Medemblik) instead of leaving it in silence."""
    placed = {}

    def caller():
        # The question plays on (Asterisk owns it), then the fallback's menu: keys after that.
        placed["result"] = sipp.place_call(
            "140229", [WaitPrompt(), WaitPrompt(timeout_s=40), PressKeys("2")], trunk, workdir=tmp_path)

    since = log_size(app)
    thread = threading.Thread(target=caller)
    thread.start()
    wait_for_log(app, AT_THE_QUESTION, since)
    config = app.config
    app.process.kill()
    app.process.wait()
    app.closed()
    app.start(config)
    thread.join(120)
    assert [i.user for i in placed["result"].invites] == ["medemblik"]


def test_fault_app_killed_while_the_trunk_rings_the_record_is_kept(app, trunk, service_yaml, tmp_path):
    """SIGKILL while the contact centre's phone rings (Hulst's trunk never answers): the
    call's record, written at the transfer, is there once, its dial result unknown."""
    since = time.time()
    rang = len(trunk.invites(user="noanswer-hulst"))
    thread, _ = in_background(lambda: sipp.place_call("140114", [], trunk, hangup_after_ms=6000, workdir=tmp_path))
    wait_until(lambda: len(trunk.invites(user="noanswer-hulst")) > rang and stored_calls(service_yaml, "140114", since),
               "the trunk to ring with the record stored", timeout_s=20, every_s=0.1)
    config = app.config
    app.process.kill()
    app.process.wait()
    app.closed()
    try:
        thread.join(60)
    finally:
        app.start(config)
    [record] = stored_calls(service_yaml, "140114", since)
    assert (record.municipality, record.outcome, record.dial_status) == ("Hulst", "transferred", None)


def test_fault_sigterm_the_call_in_progress_finishes_new_calls_meet_the_fallback(app, trunk, tmp_path):
    first, second = stop_mid_call(app, trunk, tmp_path)
    assert users(first) == ["koggenland"]
    assert users(second) == ["medemblik"]


def test_fault_reload_broken_yaml_keeps_the_configuration_then_a_good_one_takes_effect(app, call, service_yaml, tmp_path):
    text = service_yaml.read_text()
    config = tmp_path / "reloaded.yaml"
    config.write_text(text)
    with app.running(config):
        since = log_size(app)
        config.write_text(text.replace("areas:\n", "areas: [\n", 1))
        app.process.send_signal(signal.SIGHUP)
        log = wait_for_log(app, "stays in force", since)
        assert f"reload: {config}:" in log, "the error names the file and line"
        assert users(call("14020")) == ["amsterdam"]

        since = log_size(app)
        config.write_text(text.replace("PJSIP/amsterdam@", "PJSIP/amsterdam-new@"))
        app.process.send_signal(signal.SIGHUP)
        wait_for_log(app, "in force for new calls", since)
        assert users(call("14020")) == ["amsterdam-new"]


LONG_SENTENCE = ("goedemiddag, ik zou graag iemand van de gemeente Koggenland willen spreken "
                 "over de vergunning voor mijn dakkapel")


def test_fault_recogniser_past_its_deadline_the_caller_gets_the_keypad_menu(app, call, service_yaml, tmp_path):
    """A deadline (100 ms) below what recognising a long sentence costs on any machine we run
    on: each utterance is given up on, twice, and the keypad menu routes the caller."""
    config = tmp_path / "hurried.yaml"
    config.write_text(re.sub(r"recognition_deadline_ms: \d+", "recognition_deadline_ms: 100", service_yaml.read_text()))
    with app.running(config):
        result = call("140229", [WaitPrompt(), Say(LONG_SENTENCE), WaitPrompt(), Say(LONG_SENTENCE),
                                 WaitPrompt(), PressKeys("2")])
    assert users(result) == ["medemblik"]
    record = stored(service_yaml, "140229")
    assert [a.reason for a in record.attempts if a.kind == "name"] == ["timeout", "timeout"], record.attempts


def test_fault_record_store_locked_the_call_is_routed_and_its_record_kept(app, call, service_yaml):
    """Another process holds the store's write lock through the whole call: the call is
    routed all the same, and its record is stored once the lock is gone."""
    before = len(stored_calls(service_yaml, "14020"))
    lock = sqlite3.connect(load_service(service_yaml).records.path, timeout=5, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        since = log_size(app)
        assert users(call("14020")) == ["amsterdam"]
        wait_for_log(app, "(14020)\" area=020", since)  # its call decision: handed to the writer, which meets the lock
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    wait_until(lambda: len(stored_calls(service_yaml, "14020")) != before, "the record once the lock is gone",
               timeout_s=30, every_s=0.5)
    assert len(stored_calls(service_yaml, "14020")) == before + 1


def test_fault_asterisk_restarts_the_app_reconnects_by_itself(app, call):
    since = log_size(app)
    asterisk.stop()
    asterisk.start()
    wait_for_log(app, "reconnected to ARI", since, timeout_s=45)
    assert users(call("140229", [WaitPrompt(), Say("Koggenland")])) == ["koggenland"]


def test_fault_websocket_drop_mid_call_the_caller_still_reaches_a_municipality(app, trunk, tmp_path):
    """The app's ARI websocket is cut (the TCP connection killed) during the question:
    Asterisk sends the callers of the vanished app on to the keypad menu (2 is Medemblik),
    and the app reconnects by itself (which asyncari's caches from the lost connection made
    fail on every try until the client drops them)."""
    since = log_size(app)
    thread, placed = in_background(lambda: sipp.place_call(
        "140229", [WaitPrompt(), WaitPrompt(timeout_s=40), PressKeys("2")], trunk, workdir=tmp_path))
    wait_for_log(app, AT_THE_QUESTION, since)
    killed = subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport", "=", ":8088"], capture_output=True, text=True)
    assert killed.returncode == 0, killed.stderr
    wait_for_log(app, "reconnected to ARI", since)
    thread.join(120)
    assert users(placed["result"]) == ["medemblik"]


REORDERED = ("municipalities: [Hoorn, Medemblik, Drechterland, Opmeer, Koggenland]",
             "municipalities: [Koggenland, Hoorn, Medemblik, Drechterland, Opmeer]")
TO_THE_MENU = [WaitPrompt(), WaitPrompt(), WaitPrompt(), PressKeys("1")]  # silent until the keypad menu


def menu_prompt(config) -> bytes:
    """0229's menu as `config` orders it, as the bundled Asterisk plays it."""
    menu = load_service(config).plan("0229").menu_prompt
    return (asterisk_layout.read(asterisk.paths.asterisk_root()).sounds / prompts.SOUNDS_SUBDIR / f"nl/{menu}.ulaw").read_bytes()


def in_step(config) -> bool:
    return asterisk.out_of_step(load_service(config), asterisk.paths.asterisk_root()) == []


def reorder_and_reload(process, service_yaml) -> None:
    """The issue's own steps on the file `process` runs on: 0229's list reordered, SIGHUP,
    until the reload is in force."""
    since = log_size(process)
    process.config.write_text(service_yaml.read_text().replace(*REORDERED))
    process.process.send_signal(signal.SIGHUP)
    log = wait_for_log(process, "in force for new calls", since)
    assert "brought in step" in log and f"nl/{load_service(process.config).plan('0229').menu_prompt}" in log, log


def reordered_menu_routes_key_1_as_it_names(process, place, service_yaml, tmp_path) -> None:
    """The app `process` on a copy of the configuration: 0229 reordered and reloaded, then a
    caller silent until the menu presses 1, in the app's menu and in the dialplan's."""
    before = menu_prompt(service_yaml)
    config = tmp_path / "reordered.yaml"
    config.write_text(service_yaml.read_text())
    with process.running(config):
        reorder_and_reload(process, service_yaml)
        after = menu_prompt(config)
        assert after != before, "the menu prompt was regenerated"
        result = place("140229", TO_THE_MENU)
        assert users(result) == ["koggenland"]
        assert after[800:2400] in result.heard, "the caller heard the regenerated menu"
        with process.stopped():  # the dialplan's own keypad menu follows the same order
            assert users(place("140229", [WaitPrompt(), PressKeys("1")])) == ["koggenland"]
    assert in_step(service_yaml), "started again on the old file, the app put its menu back"


def reordered_during_a_call_key_1_reaches_what_its_menu_names(process, trunk, service_yaml, tmp_path) -> None:
    """A caller at the question while 0229 is reordered and reloaded stays silent until the
    menu and presses 1: they hear the menu of the configuration their call began with, and
    key 1 reaches the municipality it names (Hoorn); the next caller's key 1 is Koggenland."""
    before = menu_prompt(service_yaml)
    config = tmp_path / "reordered.yaml"
    config.write_text(service_yaml.read_text())
    with process.running(config):
        since = log_size(process)
        thread, placed = in_background(lambda: sipp.place_call("140229", TO_THE_MENU, trunk, workdir=tmp_path / "during"))
        wait_for_log(process, AT_THE_QUESTION, since)
        reorder_and_reload(process, service_yaml)
        thread.join(120)
        during = placed["result"]
        assert users(during) == ["hoorn"]
        assert before[800:2400] in during.heard, "the caller heard the menu whose keys the call holds"
        assert users(sipp.place_call("140229", TO_THE_MENU, trunk, workdir=tmp_path / "after")) == ["koggenland"]


def channels_in(context: str) -> bool:
    """Whether a channel of the bundled Asterisk is in `context` now."""
    shown = subprocess.run(["chroot", str(asterisk.paths.asterisk_root()), "/usr/sbin/asterisk", "-rx",
                            "core show channels concise"], capture_output=True, text=True, timeout=10).stdout
    return any(line.split("!")[1:2] == [context] for line in shown.splitlines())


def test_fault_dialplan_reload_during_the_fallback_menu_key_1_reaches_the_municipality_its_menu_names(app, trunk, service_yaml, tmp_path):
    """The app is down and a caller listens to the dialplan's own menu of 0229 when the
    dialplan is regenerated with 0229 reordered and reloaded: their key 1 reaches what the menu
    they heard names (Hoorn); the next caller's key 1 is Koggenland."""
    config = tmp_path / "reordered.yaml"
    config.write_text(service_yaml.read_text().replace(*REORDERED))
    root = asterisk.paths.asterisk_root()
    with app.stopped():
        thread, placed = in_background(lambda: sipp.place_call("140229", [WaitPrompt(), PressKeys("1")], trunk,
                                                               workdir=tmp_path / "during"))
        wait_until(lambda: channels_in("fourteenplus-menu"), "the caller in the dialplan's menu")
        assert asterisk.bring_in_step(load_service(config), root), "the reordered menu was written"
        thread.join(120)
        assert users(placed["result"]) == ["hoorn"]
        assert users(sipp.place_call("140229", [WaitPrompt(), PressKeys("1")], trunk,
                                     workdir=tmp_path / "after")) == ["koggenland"]
    assert in_step(service_yaml), "started again on the old file, the app put its menu back"


def test_fault_reload_during_a_call_its_menu_key_1_reaches_the_municipality_its_menu_names(app, trunk, service_yaml, tmp_path):
    reordered_during_a_call_key_1_reaches_what_its_menu_names(app, trunk, service_yaml, tmp_path)


def test_fault_reload_reordered_menu_key_1_reaches_the_municipality_the_menu_names(app, call, service_yaml, tmp_path):
    """Production mode (Asterisk started on its own, `run` without --asterisk): a reload that
    reorders 0229's list regenerates the menu prompt and the fallback before it takes a call;
    key 1 reaches Koggenland, and the menu the caller heard is the one that names it first."""
    reordered_menu_routes_key_1_as_it_names(app, call, service_yaml, tmp_path)
