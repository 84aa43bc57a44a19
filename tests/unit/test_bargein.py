"""Barge-in: when the caller's speech takes the turn from a prompt (`speech.bargein.Turn`), and
what the ARI adapter makes of it: the prompt stops for a voice, not for a cough or a door, and
what the caller said over the prompt is heard whole."""

from __future__ import annotations

import dataclasses
import struct
import types
from pathlib import Path

import numpy as np
import pytest

from fourteenplus import callflow as cf
from fourteenplus.ari.app import Call
from fourteenplus.config import load_service
from fourteenplus.rtp import EXTERNAL_MEDIA
from fourteenplus.session import CallServices
from fourteenplus.speech import audio
from fourteenplus.speech.audio import encode
from fourteenplus.speech.bargein import TAKE_FRAMES, Turn
from fourteenplus.speech.vad import FRAME, RATE, Endpointer, Spoken
from fourteenplus.vocabulary import ListenMode

LINE_S = 1.0  # the line heard before the caller's sound: the endpointer learns its noise


def quiet(seconds: float, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * 30).astype(np.int16)


def voice(seconds: float) -> np.ndarray:
    """A voiced buzz (a 125 Hz pulse train): what the endpointer hears as speech."""
    n = int(seconds * RATE)
    return np.where(np.arange(n) % 64 < 8, 6000, -900).astype(np.int16)


def door(seconds: float = 0.3) -> np.ndarray:
    """A slam: a loud burst of noise that dies away, aperiodic."""
    n = int(seconds * RATE)
    return (np.random.default_rng(7).standard_normal(n) * 8000 * np.exp(-np.arange(n) / (0.05 * RATE))).astype(np.int16)


def street(seconds: float) -> np.ndarray:
    """Steady noise in the telephone band (300–3400 Hz), loud: a street, a car."""
    spectrum = np.fft.rfft(np.random.default_rng(3).standard_normal(int(seconds * RATE)))
    frequencies = np.fft.rfftfreq(int(seconds * RATE), 1 / RATE)
    spectrum[(frequencies < 300) | (frequencies > 3400)] = 0
    noise = np.fft.irfft(spectrum, int(seconds * RATE))
    return (noise / np.std(noise) * 2000).astype(np.int16)


def turns(audio: np.ndarray, playing_s: float = float("inf"),
          line: np.ndarray | None = None) -> tuple[list[float], list[str]]:
    """Feed `audio` frame by frame after `LINE_S` of the line (quiet, or `line` all along):
    when the turn was taken (seconds into `audio`), and the endpointer's states, with a prompt
    playing until `playing_s`."""
    endpointer = Endpointer()
    turn = Turn(endpointer)
    signal = np.concatenate([quiet(LINE_S), audio, quiet(1.0, seed=2)])
    if line is not None:
        signal = np.clip(signal + line[: len(signal)].astype(np.int32), -32768, 32767).astype(np.int16)
    taken, states = [], []
    for index in range(len(signal) // FRAME):
        state = endpointer.feed(signal[index * FRAME:(index + 1) * FRAME])
        at = (index + 1) * FRAME / RATE - LINE_S
        if turn.update(state, at < playing_s):
            taken.append(round(at, 3))
        if state:
            states.append(state)
        if state == "end":
            endpointer.reset()
    return taken, states


def test_speech_over_a_prompt_takes_the_turn_within_300_ms_of_its_first_voiced_frame():
    taken, states = turns(voice(0.8))
    assert states[0] == "start" and len(taken) == 1
    assert TAKE_FRAMES * FRAME / RATE <= taken[0] <= 0.3


def test_with_nothing_playing_the_onset_takes_the_turn_at_once():
    over_prompt, _ = turns(voice(0.8))
    after_prompt, _ = turns(voice(0.8), playing_s=0.0)
    assert after_prompt[0] <= 0.12 < over_prompt[0]


@pytest.mark.parametrize("sound", ["cough", "door", "steady noise"])
def test_noise_over_a_prompt_does_not_take_the_turn(sound):
    """A voiced cough shorter than `TAKE_FRAMES` may open an utterance, but it does not stop
    the prompt; a door or a steady noise (there from the line's start) is no voice at all."""
    if sound == "steady noise":
        taken, _ = turns(quiet(3.0), line=street(6.0))
    else:
        taken, _ = turns({"cough": voice(0.12), "door": door()}[sound])
    assert taken == []


@pytest.mark.parametrize("lead_s", [0.04, 0.12, 0.2, 0.28])
def test_a_caller_who_speaks_at_once_takes_the_turn(lead_s):
    """Ears open with the question: a caller who starts saying the name in its first syllables
    speaks while the endpointer still learns the line. Their consonants must not become the
    line (or too little of the name is left to stop the prompt), and all they said counts."""
    endpointer = Endpointer()
    turn = Turn(endpointer)
    words = audio.read_telephone(Path(__file__).parent.parent / "data" / "corpus" / "koggenland.wav")
    words = words[np.flatnonzero(np.abs(words) > 300)[0]:]  # from its first sound
    signal = np.concatenate([np.zeros(int(lead_s * RATE), np.int16), words, np.zeros(RATE, np.int16)])
    events = []
    for index in range(len(signal) // FRAME):
        state = endpointer.feed(signal[index * FRAME:(index + 1) * FRAME])
        if turn.update(state, True):
            events.append("taken")
        if state in ("start", "end"):
            events.append(state)
    assert sorted(events[:2]) == ["start", "taken"] and events[2:] == ["end"]


def test_a_word_after_a_cough_takes_the_turn_as_its_own_utterance():
    taken, states = turns(np.concatenate([voice(0.12), quiet(0.8), voice(0.6)]))
    assert states.count("start") == 2 and len(taken) == 1 and taken[0] > 0.9


# ---- the ARI adapter: RTP from the snoop channel into the endpointer, the turn into the flow ----

def rtp(samples: np.ndarray, seq: int, media: str = "ulaw") -> bytes:
    """One packet as Asterisk's externalMedia channel sends it in `media`."""
    payload_type, encoding = EXTERNAL_MEDIA[media]
    return struct.pack("!BBHII", 0x80, payload_type, seq, seq * FRAME, 1) + encode(samples, encoding)


class Heard:
    """A `Call` whose session records what the adapter tells it; it hears the caller in `media`
    (`asterisk.ari.media`), and is sent packets in `sent` (default: the same)."""

    def __init__(self, playing: bool, media: str = "ulaw", sent: str | None = None):
        service = load_service()
        service = dataclasses.replace(service, asterisk=dataclasses.replace(service.asterisk, ari_media=media))
        self.sent = sent or media
        app = types.SimpleNamespace(service=service, ari=None, services=CallServices(speech=None),
                                    finished=lambda session: None)
        self.call = Call(app, {"id": "c1"}, "140229")  # type: ignore[arg-type]
        self.call.listening = cf.Listen(ListenMode.NAME, "0229")
        self.call.playback = ("playback-1", "question-1") if playing else None
        self.events: list[tuple[int, object]] = []
        self.utterances: list[Spoken] = []
        self.frames = 0
        session = self.call.session
        session.post = lambda event: self.events.append((self.frames, event))  # type: ignore[method-assign]
        session.paused = lambda listen, spoken: None  # type: ignore[method-assign]
        session.heard = lambda listen, spoken, cut_off=False: self.utterances.append(spoken)  # type: ignore[method-assign]

    def feed(self, audio: np.ndarray) -> None:
        for index in range(len(audio) // FRAME):
            self.frames += 1
            self.call._hear(rtp(audio[index * FRAME:(index + 1) * FRAME], self.frames, self.sent))


def test_ari_speech_over_the_question_stops_it_and_is_heard_from_its_onset():
    ears = Heard(playing=True)
    ears.feed(quiet(LINE_S))
    onset = ears.frames
    ears.feed(np.concatenate([voice(0.8), quiet(1.0)]))
    [(frame, event)] = ears.events
    assert isinstance(event, cf.SpeechStarted)
    assert TAKE_FRAMES <= frame - onset <= 15  # within 300 ms of the first voiced frame
    [utterance] = ears.utterances
    # Heard whole: the recogniser gets the voice from its first frame (the speech the
    # endpointer found in it), although most of it was said while the question played.
    speech = utterance.speech
    assert len(speech) >= len(voice(0.8)) and np.count_nonzero(speech > 3000) == np.count_nonzero(voice(0.8) > 3000)


def test_ari_a_cough_over_the_question_stops_nothing_and_is_no_answer():
    ears = Heard(playing=True)
    ears.feed(np.concatenate([quiet(LINE_S), voice(0.12), quiet(1.0)]))
    assert ears.events == [] and ears.utterances == []


def test_ari_after_the_prompt_even_a_short_answer_is_heard():
    ears = Heard(playing=False)
    ears.feed(np.concatenate([quiet(LINE_S), voice(0.12), quiet(1.0)]))
    assert [type(event) for _, event in ears.events] == [cf.SpeechStarted] and len(ears.utterances) == 1


def test_ari_heard_as_slin_the_callers_samples_arrive_as_sent():
    """`asterisk.ari.media: slin`: the externalMedia channel is asked for slin and its L16
    packets (network byte order) are the caller's samples, with no companding of ours on
    them; packets of another payload type (μ-law, RFC 4733 keys) are not audio for it."""
    words = np.concatenate([quiet(LINE_S), voice(0.8) + quiet(0.8, seed=2)[:int(0.8 * RATE)], quiet(1.0)])
    ears = Heard(playing=False, media="slin")
    assert (ears.call.heard_as, ears.call.payload_type) == ("slin", EXTERNAL_MEDIA["slin"][0])
    ears.feed(words)
    [utterance] = ears.utterances
    said = words[int(LINE_S * RATE):int((LINE_S + 0.8) * RATE)]
    assert said.tobytes() in utterance.samples.tobytes(), "the words, sample for sample"
    deaf = Heard(playing=False, media="slin", sent="ulaw")
    deaf.feed(words)
    assert deaf.utterances == [] and deaf.events == []
