"""The endpointer: voiced speech opens an utterance, quiet closes it in ~0.5 s, noise and
coughs open nothing. Signals are synthetic: a harmonic tone stands in for a voice."""

import numpy as np

from fourteenplus.speech import vad

RATE = 8000


def voice(seconds, level=6000, pitch=140):
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 6))
    return (wave / np.max(np.abs(wave)) * level).astype(np.int16)


def hiss(seconds, level=60, seed=1):
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * level).astype(np.int16)


def feed(endpointer, samples):
    events = []
    for i in range(0, len(samples) - vad.FRAME + 1, vad.FRAME):
        event = endpointer.feed(samples[i : i + vad.FRAME])
        if event:
            events.append((event, i / RATE))
    return events


def test_speech_start_and_end_within_half_a_second():
    clip = np.concatenate([hiss(0.5), voice(1.0) + hiss(1.0, seed=2), hiss(1.5, seed=3)])
    events = feed(vad.Endpointer(), clip)
    assert [e for e, _ in events] == ["start", "pause", "end"]
    start, pause, end = (at for _, at in events)
    assert 0.5 <= start <= 0.65
    assert 1.5 <= pause <= 1.75 < end <= 2.05  # speech stops at 1.5 s


def test_the_utterance_at_a_pause_that_runs_on_to_the_end_is_the_end_utterance():
    endpointer = vad.Endpointer()
    clip = np.concatenate([hiss(0.5), voice(1.0), hiss(1.0)])
    at = {}
    for i in range(0, len(clip) - vad.FRAME + 1, vad.FRAME):
        event = endpointer.feed(clip[i : i + vad.FRAME])
        if event in ("pause", "end"):
            at[event] = endpointer.utterance().copy()
    assert np.array_equal(at["pause"], at["end"])


def test_a_caller_who_goes_on_after_a_pause_makes_it_void():
    # "eh ... Koggenland": 0.35 s of hesitation passes the pause but not the end.
    endpointer = vad.Endpointer()
    clip = np.concatenate([hiss(0.5), voice(0.4), hiss(0.35, seed=2), voice(0.8), hiss(1.0, seed=3)])
    events, lengths = [], []
    for i in range(0, len(clip) - vad.FRAME + 1, vad.FRAME):
        event = endpointer.feed(clip[i : i + vad.FRAME])
        if event:
            events.append(event)
            lengths.append(len(endpointer.utterance()))
    assert events == ["start", "pause", "pause", "end"]
    assert lengths[1] < lengths[2] == lengths[3]  # the second pause holds the whole utterance


def test_utterance_holds_the_speech_with_preroll():
    endpointer = vad.Endpointer()
    feed(endpointer, np.concatenate([hiss(0.5), voice(1.0), hiss(1.0)]))
    utterance = endpointer.utterance()
    assert 1.0 <= len(utterance) / RATE <= 1.6


def test_line_noise_and_a_cough_open_nothing():
    rng = np.random.default_rng(4)
    burst = (rng.standard_normal(2400) * 8000 * np.exp(-np.linspace(0, 6, 2400))).astype(np.int16)
    clip = np.concatenate([hiss(0.5), burst, hiss(1.0, seed=5)])
    assert feed(vad.Endpointer(), clip) == []
    assert vad.speech_span(clip) is None


def test_loud_steady_noise_is_not_speech():
    clip = hiss(2.0, level=3000)
    assert feed(vad.Endpointer(), clip) == []
    assert vad.speech_span(clip) is None


def test_a_caller_who_never_stops_is_cut_at_the_maximum():
    endpointer = vad.Endpointer(vad.Settings(max_frames=50))
    events = feed(endpointer, voice(3.0))
    assert [e for e, _ in events] == ["start", "end"]
    assert events[1][1] < 1.3


def test_speech_span_trims_to_the_speech():
    clip = np.concatenate([hiss(1.0), voice(0.8), hiss(1.0, seed=6)])
    start, end = vad.speech_span(clip)
    assert 0.85 * RATE <= start <= 1.0 * RATE
    assert 1.8 * RATE <= end <= 1.95 * RATE
