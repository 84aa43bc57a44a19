"""The session's recognition at a pause: started when the caller goes quiet, kept for the
end when the utterance did not grow, discarded when it did; never started for a busy
recogniser. A real CallFlow runs; the channel is a stand-in that only notes transfers."""

import anyio

from fourteenplus import callflow as cf
from fourteenplus.callflow import CallFlow
from fourteenplus.session import CallServices, Session

from .scripted_calls import SERVICE, FakeSpeech, StandIn, converse, utterance


def test_an_utterance_that_ended_at_its_pause_is_recognised_once():
    speech = FakeSpeech({8000: "Koggenland"})

    def script(session, channel):
        session.paused(channel.listening, utterance(8000))
        session.heard(channel.listening, utterance(8000))

    channel = converse(speech, script)
    assert speech.heard == [8000]
    assert channel.transfers == ["Koggenland"]


def test_an_utterance_that_grew_after_its_pause_is_recognised_again_and_only_that_answer_counts():
    # "eh ... Koggenland": the pause came after "eh"; its answer must not route the call.
    speech = FakeSpeech({3000: "Opmeer", 8000: "Koggenland"})

    def script(session, channel):
        session.paused(channel.listening, utterance(3000))
        session.heard(channel.listening, utterance(8000))

    channel = converse(speech, script)
    assert speech.heard == [3000, 8000]
    assert speech.finished == [8000], "the recognition at the pause was abandoned, not finished"
    assert channel.transfers == ["Koggenland"]
    assert [a.municipality for a in channel.session.flow.record.attempts] == ["Koggenland"]


def test_a_second_pause_abandons_the_recognition_started_at_the_first():
    speech = FakeSpeech({3000: "Opmeer", 5000: "Medemblik", 8000: "Koggenland"})

    def script(session, channel):
        session.paused(channel.listening, utterance(3000))
        session.paused(channel.listening, utterance(5000))
        session.heard(channel.listening, utterance(8000))

    channel = converse(speech, script)
    assert speech.finished == [8000] and channel.transfers == ["Koggenland"]


def test_a_busy_recogniser_gets_no_early_work():
    speech = FakeSpeech({8000: "Koggenland"}, idle=False)

    def script(session, channel):
        session.paused(channel.listening, utterance(8000))
        assert speech.heard == []
        session.heard(channel.listening, utterance(8000))

    channel = converse(speech, script)
    assert speech.heard == [8000] and channel.transfers == ["Koggenland"]


def test_fault_a_caller_who_hangs_up_while_recognised_gets_nothing_delivered_and_no_transfer():
    speech = FakeSpeech({8000: "Koggenland"})

    def script(session, channel):
        session.heard(channel.listening, utterance(8000))
        session.post(cf.HungUp())

    channel = converse(speech, script)
    assert speech.heard == [8000] and speech.finished == [], "the recognition was cancelled with the call"
    assert channel.transfers == [] and channel.session.flow.record.outcome == "abandoned"


def test_a_busy_recogniser_sends_a_new_caller_to_the_keypad_menu_with_an_apology():
    speech = FakeSpeech({}, busy=True)
    plays = []

    class Heard(StandIn):
        async def play(self, action):
            plays.append(action.prompts)
            self.session.post(cf.HungUp())  # the test is done once the first prompt plays

    session = Session(CallFlow(SERVICE, "140229"), CallServices(speech), Heard, lambda _: None)

    async def main():
        with anyio.fail_after(5):
            await session.run()

    anyio.run(main)
    assert plays == [("busy", SERVICE.plan("0229").menu_prompt)] and speech.heard == []
    assert [a.reason for a in session.flow.record.attempts] == ["busy"]


def test_a_turn_cut_off_is_recognised_anew_and_the_flow_hears_that_it_never_ended():
    # Its pause heard the turn from the start; a turn cut off is heard as its last seconds
    # (here as long): the pause's recognition is no answer to it. Named nothing: the keypad menu.
    speech = FakeSpeech({8000: None})
    menu = SERVICE.plan("0229").menu_prompt
    plays = []

    class Heard(StandIn):
        async def play(self, action):
            plays.append(action.prompts)
            if menu in action.prompts:
                self.session.post(cf.HungUp())  # the test is done once the menu plays
            else:
                await super().play(action)

    def script(session, channel):
        session.paused(channel.listening, utterance(8000))
        session.heard(channel.listening, utterance(8000), cut_off=True)

    session = Session(CallFlow(SERVICE, "140229"), CallServices(speech), Heard, lambda _: None)
    converse(speech, script, session)
    assert speech.heard == [8000, 8000] and speech.finished == [8000]
    assert plays[-1] == (menu,)
    assert [a.reason for a in session.flow.record.attempts] == ["no_name", "cut_off"]
