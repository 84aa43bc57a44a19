"""The session's recognition at a pause: started when the caller goes quiet, kept for the
end when the utterance did not grow, discarded when it did; never started for a busy
recogniser. A real CallFlow runs; the channel is a stand-in that only notes transfers."""

from .scripted_calls import FakeSpeech, converse, samples


def test_an_utterance_that_ended_at_its_pause_is_recognised_once():
    speech = FakeSpeech({8000: "Koggenland"})

    def script(session, channel):
        session.paused(channel.listening, samples(8000))
        session.heard(channel.listening, samples(8000))

    channel = converse(speech, script)
    assert speech.heard == [8000]
    assert channel.transfers == ["Koggenland"]


def test_an_utterance_that_grew_after_its_pause_is_recognised_again_and_only_that_answer_counts():
    # "eh ... Koggenland": the pause came after "eh"; its answer must not route the call.
    speech = FakeSpeech({3000: "Opmeer", 8000: "Koggenland"})

    def script(session, channel):
        session.paused(channel.listening, samples(3000))
        session.heard(channel.listening, samples(8000))

    channel = converse(speech, script)
    assert speech.heard == [3000, 8000]
    assert speech.finished == [8000], "the recognition at the pause was abandoned, not finished"
    assert channel.transfers == ["Koggenland"]
    assert [a.municipality for a in channel.session.flow.record.attempts] == ["Koggenland"]


def test_a_second_pause_abandons_the_recognition_started_at_the_first():
    speech = FakeSpeech({3000: "Opmeer", 5000: "Medemblik", 8000: "Koggenland"})

    def script(session, channel):
        session.paused(channel.listening, samples(3000))
        session.paused(channel.listening, samples(5000))
        session.heard(channel.listening, samples(8000))

    channel = converse(speech, script)
    assert speech.finished == [8000] and channel.transfers == ["Koggenland"]


def test_a_busy_recogniser_gets_no_early_work():
    speech = FakeSpeech({8000: "Koggenland"}, idle=False)

    def script(session, channel):
        session.paused(channel.listening, samples(8000))
        assert speech.heard == []
        session.heard(channel.listening, samples(8000))

    channel = converse(speech, script)
    assert speech.heard == [8000] and channel.transfers == ["Koggenland"]
