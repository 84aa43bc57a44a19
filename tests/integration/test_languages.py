"""End to end: a caller who wants English, by key 9 or by saying it, hears the rest in English
and reaches the English destination Hoorn configured (tests/integration/service.yaml)."""

from __future__ import annotations

from fourteenplus.sipp import Dtmf, Say, WaitPrompt

from .test_calls import RECOGNISED_WITHIN_MS, users

HOORN = "ik wil graag de gemeente Hoorn bellen"


def test_english_by_key_9_reaches_the_english_destination(call):
    result = call("140229", [WaitPrompt(), Dtmf("9"), WaitPrompt(), Say(HOORN)])
    assert users(result) == ["hoorn-english"]
    assert result.speech_end_to_invite_ms < RECOGNISED_WITHIN_MS, "Hoorn was recognised, not the default"


def test_english_by_saying_it_reaches_the_english_destination(call):
    # The Dutch voice's "English" comes back from the recogniser as "Englief" on this path.
    result = call("140229", [WaitPrompt(), Say("English"), WaitPrompt(), Say(HOORN)])
    assert users(result) == ["hoorn-english"]
    assert result.speech_end_to_invite_ms < RECOGNISED_WITHIN_MS, "Hoorn was recognised, not the default"
