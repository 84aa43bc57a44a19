"""Faults at the far end: trunks that refuse or never answer. Every call still ends at a
municipality's trunk or at a deliberate spoken message."""

from __future__ import annotations


def users(result) -> list[str]:
    return [invite.user for invite in result.invites]


def test_fault_trunk_503_goes_to_its_overflow(call):
    result = call("140111")
    assert users(result) == ["unavailable-schouwen", "regio-zeeland"]
    assert result.reached.municipality == "Schouwen-Duiveland"


def test_fault_trunk_never_answers_and_no_overflow_the_caller_hears_a_message(call):
    result = call("140114")
    assert users(result) == ["noanswer-hulst"]
    assert result.reached is None
    assert result.first_audio_at is not None, "the caller hears that the municipality was not reached"
    assert result.ended == "Asterisk hung up"
