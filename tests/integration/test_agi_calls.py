"""End to end in FastAGI mode: the same calls through [fourteenplus-in-agi] and `fourteenplus agi`,
each test asserting which trunk the SIPp trunk endpoint saw the INVITE on."""

from __future__ import annotations

import time

from fourteenplus.sipp import PressKeys, Say, WaitPrompt

from .conftest import stop_mid_call, stored
from .test_departments import BELASTINGEN
from .test_calls import (
    calling_again_finds_the_last_choice, record_keys_are_the_callers_channel, refused_unanswered_hearing_why,
)
from .test_faults import reordered_during_a_call_key_1_reaches_what_its_menu_names, reordered_menu_routes_key_1_as_it_names


def users(result) -> list[str]:
    return [invite.user for invite in result.invites]


def test_agi_direct_area(agi_call):
    result = agi_call("14020")
    assert users(result) == ["amsterdam"]
    assert result.first_audio_at is None, "a single-municipality area asks no question"


def test_agi_spoken_name(agi_call):
    result = agi_call("140229", [WaitPrompt(), Say("Koggenland")])
    assert users(result) == ["koggenland"]


def test_agi_the_record_carries_the_callers_uniqueid(agi_call, service_yaml):
    record_keys_are_the_callers_channel(agi_call, service_yaml)


def test_agi_silence_twice_then_keypad_menu(agi_call):
    result = agi_call("140229", [WaitPrompt(), WaitPrompt(), WaitPrompt(), PressKeys("3")])
    assert users(result) == ["drechterland"]


def test_agi_unknown_area_hears_why_and_is_refused_unanswered(agi_call):
    refused_unanswered_hearing_why(agi_call("140000"))


def test_agi_direct_area_is_put_through_unanswered(agi_call):
    result = agi_call("14020")
    assert users(result) == ["amsterdam"]
    assert result.answered_at is not None and result.answered_at >= result.invites[0].at


def test_agi_server_down_the_dialplan_menu_still_routes(agi_call, agi_app):
    with agi_app.stopped():
        # AGISTATUS=FAILURE: the generated keypad menu plays; 2 is Medemblik.
        result = agi_call("140229", [WaitPrompt(), PressKeys("2")])
    assert users(result) == ["medemblik"]


def test_agi_fault_sigterm_the_call_in_progress_finishes_new_calls_meet_the_fallback(agi_app, trunk, tmp_path):
    """The FastAGI port closes at once (AGI() fails over to the keypad menu) while the session
    in progress goes on to its transfer."""
    first, second = stop_mid_call(agi_app, trunk, tmp_path)
    assert users(first) == ["koggenland"]
    assert users(second) == ["medemblik"]


def test_agi_fault_trunk_503_overflow_and_the_record_has_both_dial_results(agi_call, service_yaml):
    """The script has ended before the dial; the server learns the result through AMI."""
    since = time.time()
    result = agi_call("140111")
    assert users(result) == ["unavailable-schouwen", "regio-zeeland"]
    record = stored(service_yaml, "140111", since)
    assert record is not None and record.dial_status == "CONGESTION" and record.overflow_status == "ANSWER", record


def test_agi_fault_reload_reordered_menu_key_1_reaches_the_municipality_the_menu_names(agi_app, agi_call, service_yaml, tmp_path):
    """The same reload as test_faults.py's, in FastAGI mode."""
    reordered_menu_routes_key_1_as_it_names(agi_app, agi_call, service_yaml, tmp_path)


def test_agi_a_caller_who_calls_again_has_their_last_choice_suggested(agi_call, agi_app, unsure_yaml, service_yaml):
    calling_again_finds_the_last_choice(agi_call, agi_app, unsure_yaml, service_yaml, "0612340230")


def test_agi_fault_reload_during_a_call_its_menu_key_1_reaches_the_municipality_its_menu_names(agi_app, trunk, service_yaml, tmp_path):
    """The same reload in the middle of a call, in FastAGI mode."""
    reordered_during_a_call_key_1_reaches_what_its_menu_names(agi_app, trunk, service_yaml, tmp_path)


def test_agi_a_department_by_voice(agi_call):
    """Sluis (alone behind 0117) asks what the call is about; RECORD FILE hears the answer."""
    result = agi_call("140117", [WaitPrompt(), Say(BELASTINGEN)])
    assert users(result) == ["sluis-belastingen"]


def test_agi_a_department_by_key(agi_call):
    result = agi_call("140117", [WaitPrompt(into_ms=1500), PressKeys("2")])
    assert users(result) == ["sluis-afval"]
