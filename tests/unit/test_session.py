"""The session's recognition at a pause: started when the caller goes quiet, kept for the
end when the utterance did not grow, discarded when it did; never started for a busy
recogniser. A real CallFlow runs; the channel is a stand-in that only notes transfers."""

import anyio
import numpy as np

from fourteenplus import callflow as cf
from fourteenplus.callflow import CallFlow
from fourteenplus.session import CallServices, Session
from fourteenplus.speech import Candidate, Recognition

from .scripted_calls import SERVICE


class FakeSpeech:
    """Answers by the utterance's length, so a test can tell which audio an answer came from."""

    def __init__(self, answers: dict[int, str], idle: bool = True):
        self.answers = answers
        self.idle = idle
        self.heard: list[int] = []

    async def recognize(self, audio, area_code):
        self.heard.append(len(audio))
        await anyio.sleep(0.05)  # the worker thread's time
        municipality = self.answers[len(audio)]
        return Recognition("", (Candidate(municipality, 0.999, municipality),), "accept", municipality, "match")


class StandIn:
    """A `Channel` whose prompts end at once; it notes what the session asks for."""

    def __init__(self, session: Session):
        self.session = session
        self.listening: cf.Listen | None = None
        self.asked = anyio.Event()
        self.transfers: list[str] = []

    async def play(self, action):
        self.session.post(cf.PromptDone(action.play_id))

    async def stop_playback(self):
        pass

    async def listen(self, action):
        self.listening = action
        self.asked.set()

    async def stop_listening(self):
        pass

    async def transfer(self, action, variables):
        self.transfers.append(action.municipality)
        return False

    async def hangup(self):
        pass

    async def fallback(self):
        pass

    async def close(self):
        pass


def converse(speech, script) -> StandIn:
    """Run a call to 0229 and, once it asks for a name, `script(session, channel)`; the channel."""
    session = Session(CallFlow(SERVICE, "140229"), CallServices(speech), StandIn, lambda _: None)
    channel = session.channel

    async def main():
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tasks:  # until the session has ended
                tasks.start_soon(session.run)
                await channel.asked.wait()
                script(session, channel)

    anyio.run(main)
    return channel


def samples(n):
    return np.zeros(n, np.int16)


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
    assert channel.transfers == ["Koggenland"]
    assert [a.municipality for a in channel.session.flow.record.attempts] == ["Koggenland"]


def test_a_busy_recogniser_gets_no_early_work():
    speech = FakeSpeech({8000: "Koggenland"}, idle=False)

    def script(session, channel):
        session.paused(channel.listening, samples(8000))
        assert speech.heard == []
        session.heard(channel.listening, samples(8000))

    channel = converse(speech, script)
    assert speech.heard == [8000] and channel.transfers == ["Koggenland"]
