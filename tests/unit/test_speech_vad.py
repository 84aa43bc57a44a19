"""The endpointer: voiced speech opens an utterance, quiet closes it in ~0.5 s, noise and
coughs open nothing. Signals are synthetic: a harmonic tone stands in for a voice."""

import numpy as np
import pytest

from fourteenplus.speech import audio, vad
from fourteenplus.speech.bargein import Turn
from fourteenplus.speech.deadline import Deadline

from ..noise import CORPUS, at_snr, babble, car

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


@pytest.mark.parametrize("lead_s", [0.0, 0.1, 0.2, 0.3])
def test_a_caller_who_speaks_as_soon_as_the_line_opens_is_heard_whole(lead_s):
    """Over the question's first syllables, while the endpointer still learns the line, or
    before the app's ears opened (0.0: the first frame is the voice): the caller's voice must
    not become the line (they would never be heard), and the words said then belong to the
    utterance."""
    clip = np.concatenate([hiss(lead_s), voice(1.0) + hiss(1.0, seed=2), hiss(1.5, seed=3)])
    endpointer = vad.Endpointer()
    events = feed(endpointer, clip)
    assert [e for e, _ in events] == ["start", "pause", "end"]
    assert events[-1][1] <= lead_s + 1.0 + 0.55  # the end within ~0.5 s of the words'
    assert len(endpointer.utterance().speech) >= 0.95 * RATE, "the words said while it learnt are kept"


def test_the_utterance_at_a_pause_that_runs_on_to_the_end_is_the_end_utterance():
    endpointer = vad.Endpointer()
    clip = np.concatenate([hiss(0.5), voice(1.0), hiss(1.0)])
    at = {}
    for i in range(0, len(clip) - vad.FRAME + 1, vad.FRAME):
        event = endpointer.feed(clip[i : i + vad.FRAME])
        if event in ("pause", "end"):
            at[event] = endpointer.utterance()
    assert np.array_equal(at["pause"].samples, at["end"].samples)
    assert at["pause"].span == at["end"].span, "the speech found at the pause is the speech found at the end"


def test_a_caller_who_goes_on_after_a_pause_makes_it_void():
    # "eh ... Koggenland": 0.35 s of hesitation passes the pause but not the end.
    endpointer = vad.Endpointer()
    clip = np.concatenate([hiss(0.5), voice(0.4), hiss(0.35, seed=2), voice(0.8), hiss(1.0, seed=3)])
    events, lengths = [], []
    for i in range(0, len(clip) - vad.FRAME + 1, vad.FRAME):
        event = endpointer.feed(clip[i : i + vad.FRAME])
        if event:
            events.append(event)
            lengths.append(len(endpointer.utterance().samples))
    assert events == ["start", "pause", "pause", "end"]
    assert lengths[1] < lengths[2] == lengths[3]  # the second pause holds the whole utterance


def test_utterance_holds_the_speech_with_preroll():
    endpointer = vad.Endpointer()
    feed(endpointer, np.concatenate([hiss(0.5), voice(1.0), hiss(1.0)]))
    utterance = endpointer.utterance()
    assert 1.0 <= len(utterance.samples) / RATE <= 1.6


def test_the_utterance_carries_the_speech_the_endpointer_found():
    """The recogniser trims to the endpointer's span, not a second detector's: on a quiet line
    it is the speech, with the endpointer's preroll left out, and what a whole-clip search of
    the same audio finds."""
    endpointer = vad.Endpointer()
    feed(endpointer, np.concatenate([hiss(0.5), voice(1.0), hiss(1.0)]))
    utterance = endpointer.utterance()
    start, end = utterance.span
    # The utterance keeps 100 ms of quiet after the voice (a word's soft tail) and more before it.
    voice_end = len(utterance.samples) - 5 * vad.FRAME
    voice_start = voice_end - RATE
    assert voice_start > 5 * vad.FRAME, "the preroll is longer than the context kept"
    assert abs(start - (voice_start - 5 * vad.FRAME)) <= vad.FRAME  # the voice, less 100 ms of context
    assert end == len(utterance.samples)  # the voice, and 100 ms after it
    assert vad.whole_clip(utterance.samples).span == utterance.span


def test_line_noise_and_a_cough_open_nothing():
    rng = np.random.default_rng(4)
    burst = (rng.standard_normal(2400) * 8000 * np.exp(-np.linspace(0, 6, 2400))).astype(np.int16)
    clip = np.concatenate([hiss(0.5), burst, hiss(1.0, seed=5)])
    assert feed(vad.Endpointer(), clip) == []
    assert vad.whole_clip(clip).span is None


def test_loud_steady_noise_is_not_speech():
    clip = hiss(2.0, level=3000)
    assert feed(vad.Endpointer(), clip) == []
    assert vad.whole_clip(clip).span is None


def test_a_caller_who_never_stops_is_cut_at_the_maximum():
    endpointer = vad.Endpointer(vad.Settings(max_frames=50))
    events = feed(endpointer, np.concatenate([hiss(0.5), voice(3.0)]))
    assert [e for e, _ in events] == ["start", "end"]
    assert events[1][1] < 1.8


def cut_off(max_frames: int, cut_off_frames: int, voices: int, words: tuple[float, float]):
    """An endpointer that heard 6 s of other voices at level `voices` with the caller's words
    (level 8000) from `words[0]` to `words[1]` s among them, after 0.5 s of line: the turn it
    cut off, and what it hears of it (`cut_off_frames` long)."""
    endpointer = vad.Endpointer(vad.Settings(max_frames=max_frames, cut_off_frames=cut_off_frames))
    other = voice(6.0, level=voices, pitch=210)
    begin, end = words
    other[int(begin * RATE):int(end * RATE)] += voice(end - begin, level=8000)
    events = feed(endpointer, np.concatenate([hiss(0.5), other]))
    assert [e for e, _ in events if e != "pause"] == ["start", "end"] and endpointer.cut_off
    heard = endpointer.utterance().samples
    assert len(heard) == cut_off_frames * vad.FRAME
    return endpointer, heard


def test_a_turn_cut_off_is_heard_as_its_last_seconds_of_the_caller():
    """A voice 22 dB below the caller's talks on around them (on a learnt line it is loud, so
    the turn never ends): cut off, the turn is heard from the caller's last loud frame back,
    `cut_off_frames` of it, not from where the other voice opened it."""
    endpointer, heard = cut_off(200, 75, voices=600, words=(1.5, 2.5))
    loud = np.flatnonzero(np.abs(heard) > 3000)
    # The caller's words end 0.1 s (the tail) before the end of what is heard.
    assert (len(heard) - loud[-1]) / RATE == pytest.approx(0.1, abs=0.021)
    endpointer.reset()
    assert not endpointer.cut_off


def test_a_turn_cut_off_by_voices_near_the_callers_level_is_heard_from_the_callers_words():
    """Voices only 10 dB below the caller (within `caller_drop_db`, so they pass for the caller)
    talk on after the caller's words to the cut-off: the last seconds are theirs alone. The
    caller, close to the microphone, made the loudest frame: what is heard begins a second
    before it and holds the words."""
    _, heard = cut_off(250, 150, voices=2500, words=(1.0, 1.8))
    # All of the caller's 0.8 s is heard (only they reach 9000: the voices peak at 2500).
    assert np.sum(np.abs(heard.reshape(-1, vad.FRAME)).max(axis=1) > 9000) >= 0.75 * RATE / vad.FRAME


def taken_at(clip, settings=vad.Settings()):
    """When speech over a playing prompt takes the turn from it (s into the clip; None: never)."""
    endpointer = vad.Endpointer(settings)
    turn = Turn(endpointer)
    for i in range(0, len(clip) - vad.FRAME + 1, vad.FRAME):
        if turn.update(endpointer.feed(clip[i : i + vad.FRAME]), playing=True):
            return (i + vad.FRAME) / RATE
    return None


def test_voices_that_began_with_the_call_stop_no_prompt_but_a_caller_who_speaks_at_once_does():
    """Others start talking as the line opens (its first frame quiet), far below a talker's
    level: they open a turn, as a caller who speaks at once does, but do not stop the question.
    The caller's own voice at once still does, within 0.3 s."""
    others = np.concatenate([np.zeros(vad.FRAME, np.int16), voice(3.0, level=700, pitch=190)])
    assert vad.frame_level_db(others[RATE:RATE + vad.FRAME]) < vad.Settings().talker_db - 5
    assert taken_at(others) is None
    assert taken_at(others, vad.Settings(talker_db=-200.0)) is not None, "they open a turn (the premise)"
    caller = np.concatenate([np.zeros(int(0.1 * RATE), np.int16), voice(1.0)])
    assert taken_at(caller) <= 0.1 + 0.3


def test_on_a_learnt_line_voices_that_rise_just_above_it_stop_no_prompt_but_the_caller_does():
    """A street: the line is learnt (2 s of it), then someone nearby talks just above what the
    line reaches. Loud and voiced, they open a turn, but only speech well above the line
    (`talker_over_line_db`) takes it from a prompt; the caller's own voice does, at once."""
    line = hiss(2.0, level=200)
    nearby = np.concatenate([line, voice(1.0, level=1100, pitch=190) + hiss(1.0, level=200, seed=3)])
    assert taken_at(nearby) is None
    assert taken_at(nearby, vad.Settings(talker_over_line_db=-200.0)) is not None, "they open a turn (the premise)"
    caller = np.concatenate([line, voice(1.0) + hiss(1.0, level=200, seed=3)])
    assert taken_at(caller) <= 2.0 + 0.3


def test_a_whole_clip_is_trimmed_to_the_speech():
    clip = np.concatenate([hiss(1.0), voice(0.8), hiss(1.0, seed=6)])
    start, end = vad.whole_clip(clip).span
    assert 0.85 * RATE <= start <= 1.0 * RATE
    assert 1.8 * RATE <= end <= 1.95 * RATE


# ---- real lines: a caller's words in the noise of a street, a car, other people talking ----


def on_the_line(words, noise, snr_db, before=2.0, after=6.0):
    """The words with `before` and `after` seconds of line around them, `noise(samples)`
    `snr_db` below the words' active level: (the line, the noise alone on it, the end of
    the words in seconds)."""
    padded = np.concatenate([np.zeros(int(before * RATE)), words, np.zeros(int(after * RATE))])
    noise = at_snr(noise(len(padded)), words, snr_db)
    loud = np.flatnonzero(np.abs(words) > 300)
    return [np.clip(np.round(x), -32768, 32767).astype(np.int16) for x in (padded + noise, noise)] + \
        [before + (loud[-1] + 1) / RATE]


@pytest.mark.parametrize("name", ["koggenland", "drechterland-carrier"])
@pytest.mark.parametrize("snr_db", [20, 10])
def test_a_turn_ends_when_the_words_end_with_voices_in_the_background(name, snr_db):
    words = audio.read_telephone(CORPUS / f"{name}.wav")
    clip, _, words_end = on_the_line(words, lambda n: babble(n, seed=snr_db), snr_db)
    events = feed(vad.Endpointer(), clip)
    assert [e for e, _ in events if e != "pause"][:2] == ["start", "end"]
    start, end = events[0][1], next(at for e, at in events if e == "end")
    assert 1.9 <= start <= words_end
    assert words_end < end <= words_end + 0.8  # the backstop would be 8 s on


@pytest.mark.parametrize("name,seed", [("koggenland", 7), ("koggenland", 25), ("opmeer", 26)])
def test_a_name_in_voices_at_10_db_opens_a_turn_on_its_clear_syllables(name, seed):
    """The line learnt for 1.5 s (a question's length), then a name with voices 10 dB below it:
    its syllables rise well above the line's top, but only for a few frames each, and the
    voices lower their voicing, so fewer than 4 of 6 frames were speech and no turn opened.
    A frame `clear_over_line_db` above the line's top counts twice."""
    words = audio.read_telephone(CORPUS / f"{name}.wav")
    clip, _, words_end = on_the_line(words, lambda n: babble(n, seed=seed), 10, before=1.5)
    assert feed(vad.Endpointer(vad.Settings(clear_over_line_db=200.0)), clip) == [], "no turn (the premise)"
    events = [(e, at) for e, at in feed(vad.Endpointer(), clip) if e != "pause"]
    assert events[0][0] == "start" and 1.5 <= events[0][1] <= words_end
    assert words_end < next(at for e, at in events if e == "end") <= words_end + 0.8


@pytest.mark.parametrize("name", ["koggenland", "drechterland-carrier"])
def test_a_turn_ends_when_the_words_end_in_voices_that_began_with_the_call(name):
    """People who start talking as the line opens (its first moment quiet, then voices, 20 dB
    below the caller) are what a caller who speaks at once sounds like: the line learns
    nothing of them and an utterance opens on them. The caller's own words, close to the
    microphone, are far louder: once they end, the voices are not the caller, and the turn
    ends with the words instead of at the cut-off (8 s on). Within a second of them: the
    voices' loudest moments may still pass for the caller's softest."""
    words = audio.read_telephone(CORPUS / f"{name}.wav")
    silent = int(0.1 * RATE)
    clip, _, words_end = on_the_line(
        words, lambda n: np.concatenate([np.zeros(silent), babble(n - silent, seed=5)]), 20)
    events = [(e, at) for e, at in feed(vad.Endpointer(), clip) if e != "pause"]
    assert events[0][0] == "start" and events[0][1] < 1.0, "the voices open an utterance (the premise)"
    end = next(at for e, at in events if e == "end")
    assert words_end < end <= words_end + 1.0


@pytest.mark.parametrize("name", ["koggenland", "drechterland-carrier"])
def test_voices_10_db_below_the_caller_that_began_with_the_call_do_not_hold_the_turn_to_the_cut_off(name):
    """As above with the voices only 10 dB below the caller (babble at 10 dB SNR): within
    `caller_drop_db` (20 dB) of the caller they passed for the caller's soft words and held the
    turn open to the cut-off; frames `voices_drop_db` below the caller's loudest end such a
    turn. Within 1.5 s of the words: the voices' loudest moments now and then pass for the
    caller's softest."""
    words = audio.read_telephone(CORPUS / f"{name}.wav")
    silent = int(0.1 * RATE)
    clip, _, words_end = on_the_line(
        words, lambda n: np.concatenate([np.zeros(silent), babble(n - silent, seed=5)]), 10)
    for settings, ended in ((vad.Settings(voices_drop_db=20.0), lambda end: end > 8.0),  # the premise
                            (vad.Settings(), lambda end: words_end < end <= words_end + 1.5)):
        events = [(e, at) for e, at in feed(vad.Endpointer(settings), clip) if e != "pause"]
        assert events[0][0] == "start" and events[0][1] < 1.0, "the voices open an utterance (the premise)"
        assert ended(next(at for e, at in events if e == "end")), settings


def heard_from(endpointer, clip):
    """Where (s into `clip`) the speech of the endpointer's last utterance begins: its samples
    are a run of the clip's frames."""
    utterance = endpointer.utterance()
    frames = clip[: len(clip) // vad.FRAME * vad.FRAME].reshape(-1, vad.FRAME)
    first = next(i for i, f in enumerate(frames) if np.array_equal(f, utterance.samples[: vad.FRAME]))
    return (first * vad.FRAME + utterance.span[0]) / RATE


def soft_then_loud(soft_level, noise, snr_db, gap=0.4):
    """A soft word (0.3 s, from 2 s in), quiet for `gap`, then loud words (0.6 s), on a line
    `snr_db` below the loud words."""
    loud = voice(0.6, level=8000)
    words = np.concatenate([voice(0.3, level=soft_level, pitch=180), np.zeros(int(gap * RATE)), loud])
    padded = np.concatenate([np.zeros(2 * RATE), words, np.zeros(2 * RATE)])
    return np.clip(np.round(padded + at_snr(noise(len(padded)), loud, snr_db)), -32768, 32767).astype(np.int16)


def test_a_soft_first_word_under_the_voices_loud_moments_is_in_the_utterance():
    """"Nee, alle Gralen" in babble at 10 dB: the "Nee," (here 10 dB below the loud words) lies
    under the voices' loud moments, so the turn opens on the loud words only; the utterance
    reaches back to it."""
    clip = soft_then_loud(3500, lambda n: babble(n, seed=7), 10)
    endpointer = vad.Endpointer()
    events = [e for e, _ in feed(endpointer, clip)]
    assert events[0] == "start" and "end" in events
    assert vad.frame_level_db(clip[2 * RATE : int(2.3 * RATE)]) < endpointer._line_db()  # not loud by itself
    assert heard_from(endpointer, clip) <= 2.0


def test_a_voice_far_below_the_caller_before_the_onset_is_not_in_the_utterance():
    """A voice above the line's median but 20 dB or more below the caller is someone else's:
    the utterance does not reach back to it."""
    clip = soft_then_loud(500, lambda n: car(n, seed=7), 25, gap=0.3)
    endpointer = vad.Endpointer()
    events = [e for e, _ in feed(endpointer, clip)]
    assert events[0] == "start" and "end" in events
    assert vad.frame_level_db(clip[2 * RATE : int(2.3 * RATE)]) > endpointer._soft_db()  # above the median's margin
    assert heard_from(endpointer, clip) >= 2.3


def test_voices_that_began_with_the_call_are_the_line_at_the_next_question():
    """Once the caller's level has ended the turn those voices opened, the quiet that ended it
    is the line: at the next question (a reset, the same line) the voices alone open nothing,
    and do not stop the prompt."""
    words = audio.read_telephone(CORPUS / "koggenland.wav")
    silent = int(0.1 * RATE)
    clip, _, words_end = on_the_line(
        words, lambda n: np.concatenate([np.zeros(silent), babble(n - silent, seed=5)]), 20, after=9.0)
    endpointer = vad.Endpointer()
    answered = int((words_end + 1.0) * RATE) // vad.FRAME * vad.FRAME
    assert "end" in [e for e, _ in feed(endpointer, clip[:answered])]
    endpointer.reset()
    assert feed(endpointer, clip[answered:]) == []


@pytest.mark.parametrize("snr_db", [20, 10])
def test_voices_in_the_background_alone_open_nothing(snr_db):
    _, noise, _ = on_the_line(audio.read_telephone(CORPUS / "koggenland.wav"), lambda n: babble(n, seed=3), snr_db)
    assert feed(vad.Endpointer(), noise) == []


def test_steady_engine_noise_is_no_answer_at_any_question():
    # Noise from the answer on, not cut to the band, 30 dB below a voice: through the
    # question, the name's turn and "Bedoelt u …?", each a new Listen (a reset), none may
    # hear an answer in it.
    endpointer = vad.Endpointer()
    noise = car(int(16 * RATE), seed=7)
    noise = (noise / np.sqrt(np.mean(noise**2)) * 6000 * 10 ** (-30 / 20)).astype(np.int16)
    for question in np.array_split(noise, 4):
        endpointer.reset()
        assert feed(endpointer, question[: len(question) // vad.FRAME * vad.FRAME]) == []


def test_a_name_in_engine_noise_is_heard_and_ends():
    words = audio.read_telephone(CORPUS / "opmeer.wav")
    clip, _, words_end = on_the_line(words, lambda n: car(n, seed=8), 10)
    events = [(e, at) for e, at in feed(vad.Endpointer(), clip) if e != "pause"]
    assert [e for e, _ in events][:2] == ["start", "end"]
    assert words_end < events[1][1] <= words_end + 1.0


def test_the_cut_off_is_the_longest_utterance_of_the_configuration():
    settings = vad.Settings.cut_at(8000)
    assert settings.max_frames * vad.FRAME / RATE == 8.0
    # It comes before the flow's backstop, with the recognition's deadline and slack to spare.
    assert Deadline(1500, 8000).speech_ms > 8000 + 1500
