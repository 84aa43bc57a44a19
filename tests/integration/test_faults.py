"""Faults at the far end: trunks that refuse or never answer. Every call still ends at a
municipality's trunk or at a deliberate spoken message."""

from __future__ import annotations

import threading
import time

from fourteenplus import sipp
from fourteenplus.config import load_service
from fourteenplus.records import open_store
from fourteenplus.sipp import Dtmf, WaitPrompt


def stored(service_yaml, dialled: str):
    """The newest stored record of a call to `dialled`, once its dial result is in (≤ 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        store = open_store(load_service(service_yaml).records)
        try:
            calls = [c.record for c in store.calls() if c.record.dialled == dialled]
        finally:
            store.close()
        if calls and calls[-1].dial_status or time.monotonic() > deadline:
            return calls[-1] if calls else None
        time.sleep(0.5)


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


def test_fault_app_killed_mid_call_the_caller_reaches_the_keypad_menu(app, trunk, tmp_path):
    """SIGKILL during the question: on restart the app hands the waiting caller to the
    dialplan's keypad menu (2 is Medemblik) instead of leaving it in silence."""
    placed = {}

    def caller():
        # The question plays on (Asterisk owns it), then the fallback's menu: keys after that.
        placed["result"] = sipp.place_call(
            "140229", [WaitPrompt(), WaitPrompt(timeout_s=40), Dtmf("2")], trunk, workdir=tmp_path)

    thread = threading.Thread(target=caller)
    thread.start()
    time.sleep(1.0)  # answered, the question playing
    config = app.config
    app.process.kill()
    app.process.wait()
    app.process.stdout.close()
    app.start(config)
    thread.join(120)
    assert [i.user for i in placed["result"].invites] == ["medemblik"]
