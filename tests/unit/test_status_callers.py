"""`fourteenplus status` counts callers, not channels: one caller at the question has a snoop
and an externalMedia channel in Stasis beside it, and a transferred one a trunk leg."""

from fourteenplus.ami import callers


def channel(name: str, uniqueid: str, linkedid: str, context: str = "fourteenplus-in",
            application: str = "Stasis") -> dict:
    return {"Event": "CoreShowChannel", "Channel": name, "Uniqueid": uniqueid, "Linkedid": linkedid,
            "Context": context, "Application": application}


def test_a_caller_at_the_question_is_one_call_not_three():
    listed = [channel("PJSIP/carrier-00000001", "1.1", "1.1"),
              channel("Snoop/1.1-00000000", "fp-snoop-1.1", "fp-snoop-1.1", context="default"),
              channel("UnicastRTP/127.0.0.1:40000-0x7f", "fp-media-1.1", "fp-snoop-1.1", context="default"),
              {"Event": "CoreShowChannelsComplete"}]
    assert callers(listed) == 1


def test_a_transferred_caller_is_one_call_with_its_trunk_leg():
    listed = [channel("PJSIP/carrier-00000002", "2.1", "2.1", context="fourteenplus-dial", application="Dial"),
              channel("PJSIP/fourteenplus-trunks-00000003", "2.2", "2.1", context="fourteenplus-no-inbound",
                      application="AppDial")]
    assert callers(listed) == 1


def test_channels_outside_our_contexts_and_app_are_not_ours():
    assert callers([channel("PJSIP/staff-00000004", "3.1", "3.1", context="internal", application="Dial")]) == 0
