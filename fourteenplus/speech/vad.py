"""Endpointing over 20 ms frames of 8 kHz telephone audio, with numpy only.

A frame is speech when it is loud against the line *and* voiced (a pitch period between 2.5
and 16 ms shows in its autocorrelation above the rumble band). The voicing test is what
keeps a cough, a door, hiss or an engine from opening an utterance: those are loud but
aperiodic, or periodic only below a voice's pitch.

Loud against the line means above two levels of the last 3 s heard while no one spoke
(learnt in the first moments of the call, while the question plays, and between answers):
- the noise floor, the quietest of those frames, plus a margin;
- the line's background, a high percentile of them: voices in the background are loud and
  voiced, but the caller is close to the microphone, so only what is louder than the
  background's loud moments is the caller.
The background is what ends a turn in a street or beside other people talking; on a quiet
line it lies below the floor's margin and changes nothing.

A caller's soft first word ("Nee," before "alle Gralen") may lie under the background's loud
moments: the turn opens on the loud words only. When it opens, the utterance reaches back to
the caller's own onset, further than the pre-roll: voiced frames well above the line's median
(what lies under the voices' loud moments) and near the caller's level, contiguous with the
turn (`Settings.onset_margin_db`). When the turn opens and ends does not change.

Voices that began with the call are what a caller who speaks at once sounds like: the line
learns nothing of them and an utterance opens on them. In such a turn (opened before the line
was learnt) the caller's own level counts too: a frame far below the utterance's loudest
speech frame is not the caller, so the voices do not hold it open to the cut-off; the caller,
close to the microphone, is far louder. When it ends, its frames far below the caller teach
the line, so the next question is judged against those voices. On a learnt line the caller's
level is left out: people's soft words lie that far below their loudest.

`Endpointer` is the streaming form the ARI adapter feeds (the start of speech for barge-in,
the end of the utterance after ~0.5 s of quiet, and a "pause" at ~0.2 s of quiet so that
recognition can start before the end is certain). Its utterance is `Spoken`: the audio with
the span of speech the endpointer found in it, frame by frame, which the recogniser trims
the clip to; the voice detector runs once per utterance. `whole_clip` finds that span in a
clip no endpointer cut (a file, a FastAGI recording): over the whole clip at once, by the
same rule (`_span`).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

RATE = 8000
FRAME = 160  # 20 ms
_MIN_LAG, _MAX_LAG = 20, 128  # pitch 62–400 Hz at 8 kHz
_RUMBLE = np.ones(24) / 24
_TAIL_FRAMES = 5  # the quiet frames after the speech an utterance keeps: a word's soft tail
_PAD_FRAMES = 5  # context either side of the speech the recogniser gets: whisper's first and last phoneme
# A turn cut off is heard from this long before the caller's loudest frame when its last
# seconds leave that frame out (1 s): a name's loudest syllable lies within its first second.
_LEAD_FRAMES = 50


class TurnEvent(StrEnum):
    """What a frame fed to the endpointer brought about (`Endpointer.feed`), for the adapters,
    the barge-in rule and the benches alike."""

    START = "start"  # an utterance opened
    PAUSE = "pause"  # quiet inside it long enough that it may be whole (`pause_frames`)
    END = "end"  # it ended: in quiet, or at the cut-off


@dataclass(frozen=True)
class Settings:
    margin_db: float = 9.0  # above the noise floor
    absolute_db: float = -52.0  # below this (dBFS) a frame is never speech, however quiet the line
    voicing: float = 0.6  # normalised autocorrelation peak: white noise stays under 0.4 at 40 ms
    start_frames: int = 4  # voiced frames in the last 6 that open an utterance (≈80 ms)
    # On a learnt line, a speech frame this far above its top counts twice towards `start_frames`: in
    # voices at 10 dB a name's syllables rise 7–10 dB above the line but for 2–4 frames at a
    # time, and the voices around lower their voicing (0.5–0.6), so 4 of 6 were not found and
    # the name opened no turn (a real call's timeline: 13 of 72; bench/endpoint.md). Voices
    # around seldom rise this far above their own loud moments.
    clear_over_line_db: float = 6.0
    end_frames: int = 25  # quiet frames that close it (0.5 s)
    # Quiet frames after which the utterance so far may be the whole one (0.2 s): recognising
    # it from here hides the wait for the end. A caller who speaks on after it costs little:
    # that recognition is abandoned before its next stage (speech.service). It must stay
    # above the 5 frames of quiet `utterance()` keeps, so the audio at the pause is the audio
    # at the end.
    pause_frames: int = 10
    preroll_frames: int = 15  # audio kept from before the start, so the first syllable is not cut
    # On a line whose background's loud moments hide a soft first word (a "Nee," at −27 dBFS
    # before "alle Gralen" at −13, in voices whose loud moments reach −24), the turn opens on
    # the loud words only; the utterance then reaches back to the caller's own onset: voiced
    # frames `onset_margin_db` above the background's median (its loud moments are the voices;
    # its median is what lies under them) and within `caller_drop_db` of the caller's loudest,
    # none more than `end_frames` apart (the quiet that would have ended a turn), at most
    # `onset_frames_back` before the pre-roll (1 s), and only if there are `start_frames` of
    # them (a voice's syllable, not one frame of the crowd).
    onset_margin_db: float = 6.0
    onset_frames_back: int = 50
    max_frames: int = 400  # `listen.max_speech_ms`: a caller who never stops still gets an answer
    # The first frames a line is heard only teach the endpointer the line (0.5 s, at the start
    # of the question): noise there from the answer on must not open an utterance.
    learn_frames: int = 25
    # ...but a caller who speaks at once (over the question's first syllables) must not teach
    # it either, or their own voice becomes the line and they are never heard: while it
    # learns, a voiced frame this far above the quietest so far waits with the onset frames.
    learn_headroom_db: float = 15.0
    # On a line heard this quiet (no crowd dips so low), a loud frame that is not voiced (the
    # k of "Koggenland") waits too: learnt as the line, the caller's consonants would lift
    # it over their own softer vowels.
    quiet_line_db: float = -62.0
    # Frames without speech the line is judged on (3 s): its floor (the quietest of them) and
    # its background. A line that grows louder is followed within them; while someone speaks
    # they stand still, so a sentence's soft words are not taken for the line.
    background_frames: int = 150
    onset_frames: int = 25  # frames before a start that are kept out of the background (0.5 s)
    background_percentile: float = 90.0  # the background's loud moments, not its average
    background_margin_db: float = 3.0  # the caller above them
    # A voiced frame this far below the caller's loudest is someone else's, however loud
    # against the line: the caller is close to the microphone. (A soft first word reached back
    # to and a cut-off turn's last seconds of the caller lie within it.)
    caller_drop_db: float = 20.0
    # In a turn that opened before the line was learnt (voices that began with the call opened
    # it, as a caller who speaks at once does), a frame this far below the caller's loudest is
    # the voices around: it ends the turn like quiet does, and teaches the line when the turn
    # ends. Tighter than `caller_drop_db`: voices 10 dB below the caller (babble at 10 dB SNR)
    # held such a turn open to the cut-off (bench/endpoint.md, 2026-12-07, a real call's
    # timeline); within a word or a name, a caller's frames stay nearer their loudest for
    # the 0.5 s of quiet that ends a turn.
    voices_drop_db: float = 12.0
    # A turn cut off at `max_frames` (it never ended: voices or noise the endpointer could not
    # tell from the caller held it open) is recognised from its last frames of the caller (its
    # speech within `caller_drop_db` of the loudest), at most this many (6 s): a name said
    # alone or at the end of a sentence lies there, and whisper does not have to read it out
    # of 8 s of someone else's talk. If those seconds leave the loudest speech frame out (voices
    # within `caller_drop_db` talked on after the caller), from a second before it instead.
    cut_off_frames: int = 300
    # In a turn that opened before the line was learnt, only speech frames louder than this
    # (dBFS) count towards taking the turn from a prompt (`speech.bargein`): voices that began
    # with the call are what a caller who speaks at once sounds like, but farther from the
    # microphone. Measured on the tune callers in babble at 20 dB (bench/dialogue.md): the
    # voices' speech frames there at −46…−37 dBFS (p10…p90), the callers' −27…−10.
    talker_db: float = -32.0
    # On a line already learnt, only speech frames this far above what the line itself reaches
    # (`_line_db`: its background's top, when the turn opened) count towards taking the turn
    # from a prompt: voices around the caller rise above the line now and then, a caller's own
    # words close to the microphone far above it.
    talker_over_line_db: float = 3.0

    @classmethod
    def cut_at(cls, max_speech_ms: int) -> Settings:
        """The defaults, cut off at `listen.max_speech_ms`."""
        return cls(max_frames=max_speech_ms * RATE // 1000 // FRAME)


@dataclass(frozen=True)
class Spoken:
    """An utterance's audio (8 kHz int16) and where the speech lies in it, as sample indices
    (start, end), padded a little; None: no speech in it (a clip whose speech `whole_clip`
    did not find). What the recogniser hears is `speech`."""

    samples: np.ndarray
    span: tuple[int, int] | None

    @property
    def speech(self) -> np.ndarray:
        return self.samples[self.span[0] : self.span[1]] if self.span else self.samples[:0]


def frame_level_db(frame: np.ndarray) -> float:
    x = np.asarray(frame, dtype=np.float32) / 32768.0
    return float(10.0 * np.log10(np.mean(x * x) + 1e-10))


def is_voiced(window: np.ndarray, threshold: float) -> bool:
    """Normalised autocorrelation peak over the pitch lags; `window` is 40 ms (this frame and
    the one before), so even the longest pitch period overlaps itself by 24 ms. Less its
    moving average over 3 ms (`_RUMBLE`), which takes out what lies below a voice's pitch: an
    engine's rumble there correlates at every pitch lag, a voice keeps its harmonics."""
    x = np.asarray(window, dtype=np.float64)
    x = x - np.convolve(x, _RUMBLE, "same")
    n = len(x)
    if n <= _MAX_LAG or not np.any(x):
        return False
    lags = np.arange(_MIN_LAG, _MAX_LAG)
    corr = np.correlate(x, x, mode="full")[n - 1 + lags]
    squares = np.concatenate([[0.0], np.cumsum(x * x)])
    head = squares[n - lags]  # energy of x[:n-lag]
    tail = squares[n] - squares[lags]  # energy of x[lag:]
    return float(np.max(corr / np.sqrt(head * tail + 1e-9))) >= threshold


@dataclass(slots=True)
class _Frame:
    """A 20 ms frame as the endpointer judged it when it came."""

    samples: np.ndarray
    level: float  # dBFS
    loud: bool  # louder than the line, voiced or not
    speech: bool  # loud and voiced
    # Before a turn opened: voiced above the line's median (`Endpointer._soft_db`), where a
    # soft first word may lie (`Endpointer._reach_back`); in a turn, the same as `speech`.
    soft: bool


@dataclass
class Endpointer:
    """Feed 20 ms frames (160 int16 samples); `feed` returns a `TurnEvent` (start, pause, end) or None.

    After "end", `utterance()` holds the audio from just before the start to the end, with the
    span of its speech, and `feed` returns None until `reset()` readies it for the next
    utterance. What it learnt of the line (floor, background) survives a reset: it belongs to
    the line, not to the utterance. `speaking` is true from "start" to "end": the caller's
    onset, for barge-in.

    "pause" comes once per quiet stretch inside an utterance, `pause_frames` into it. If the
    stretch runs on to "end", `utterance()` is then exactly what it was at the pause (the same
    samples, so a recognition started at the pause holds for the end); if the caller speaks
    again, the utterance grows and a later pause or end supersedes it.
    """

    settings: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        self._background: deque[float] = deque()
        self._background_sorted: list[float] = []  # the same levels in order: percentiles per frame stay cheap
        self._heard = 0  # frames of this line so far
        self.reset()

    def reset(self) -> None:
        self._previous = np.zeros(FRAME, np.int16)
        self._recent: list[int] = []  # the last 6 frames' weight towards a start (0: not speech)
        # The levels of the last frames before a start may be the caller's onset, not the
        # line: they join the background only once no start followed them for `onset_frames`
        # (a start may need a few syllables in noise; the words must not teach the line).
        self._onset: deque[float] = deque()
        self._ended = False
        self._kept: list[_Frame] = []  # the pre-roll, then the utterance
        # The last `onset_frames_back` frames the pre-roll let go: where a soft first word may
        # lie (`_reach_back`).
        self._history: deque[_Frame] = deque(maxlen=self.settings.onset_frames_back)
        self._caller = -np.inf  # the utterance's loudest speech frame (dBFS)
        self._opened_unlearnt = False  # it opened before the line was learnt
        self._talker_db = self.settings.talker_db  # a frame's level that counts towards a barge-in
        self._speaking = False
        self._quiet = 0
        self._speech_frames = 0
        self._voiced = 0
        self._cut_off = False

    @property
    def cut_off(self) -> bool:
        """The last utterance ended at the cut-off (`max_frames`), not in quiet: the caller, or
        what the endpointer took for them, never stopped."""
        return self._cut_off

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def voiced_frames(self) -> int:
        """Frames judged speech in the utterance so far, those that opened it included: how
        sure it is a voice and not a cough or a door (a barge-in waits for enough of them). In
        a turn that opened before the line was learnt, only those at a talker's level
        (`Settings.talker_db`): voices around the caller that began with the call stop no prompt;
        on a learnt line, only those well above it (`Settings.talker_over_line_db`)."""
        return self._voiced

    def _line_db(self) -> float:
        """The level a frame must pass to be loud: above the floor, the background, the absolute."""
        s = self.settings
        heard = self._background_sorted
        if not heard:
            return s.absolute_db
        return max(heard[0] + s.margin_db, _percentile(heard, s.background_percentile) + s.background_margin_db,
                   s.absolute_db)

    def _learn_background(self, level: float) -> None:
        self._background.append(level)
        insort(self._background_sorted, level)
        if len(self._background) > self.settings.background_frames:
            del self._background_sorted[bisect_left(self._background_sorted, self._background.popleft())]

    def feed(self, frame: np.ndarray) -> TurnEvent | None:
        if self._ended:
            return None
        s = self.settings
        frame = np.asarray(frame, dtype=np.int16)
        level = frame_level_db(frame)
        self._heard += 1
        line = self._line_db()
        loud = level > line
        # Before a turn, a voiced frame above the line's median may be a soft first word (`_reach_back`).
        soft = loud or (not self._speaking and level > self._soft_db())
        soft = soft and is_voiced(np.concatenate([self._previous, frame]), s.voicing)
        speech = loud and soft
        self._previous = frame
        self._kept.append(_Frame(frame, level, loud, speech, soft))
        if not self._speaking:
            self._onset.append(level)
            learning = self._heard <= s.learn_frames
            quiet_line = False
            if learning:
                # Until something quiet was heard, a voice at a talker's level is taken for the
                # caller (the app's ears may open after the caller began), not for the line.
                quietest = min(self._background_sorted[0] if self._background_sorted else level,
                               s.absolute_db + s.learn_headroom_db)
                quiet_line = quietest <= s.quiet_line_db
                if not ((speech or quiet_line) and level > quietest + s.learn_headroom_db):
                    self._learn_background(self._onset.pop())  # this frame: the line
            clear = not learning and level > line + s.clear_over_line_db
            self._recent = (self._recent + [speech * (2 if clear else 1)])[-6:]
            # Words said while it learns belong to the utterance (all kept). On a line heard
            # quiet they open it at once, as after learning: no crowd there to take for a
            # caller, and a caller who speaks over the question's first syllables stops it soon.
            if learning and not quiet_line:
                return None
            if sum(self._recent) >= s.start_frames:
                self._speaking, self._quiet, self._speech_frames = True, 0, 0
                self._onset.clear()
                # The speech kept from before the start counts too: a caller who began while
                # it learnt has said more than the last few frames (a barge-in needs enough).
                self._caller = max(kept.level for kept in self._kept if kept.speech)
                self._reach_back()
                self._opened_unlearnt = len(self._background) < s.learn_frames
                self._talker_db = s.talker_db if self._opened_unlearnt else line + s.talker_over_line_db
                self._voiced = sum(self._talking(kept.level, kept.speech) for kept in self._kept)
                return TurnEvent.START
            if learning:
                return None
            let_go = len(self._kept) - s.preroll_frames
            if let_go > 0:
                self._history.extend(self._kept[:let_go])
                del self._kept[:let_go]
            if len(self._onset) > s.onset_frames:
                self._learn_background(self._onset.popleft())
            return None
        self._voiced += self._talking(level, speech)
        if speech:
            self._caller = max(self._caller, level)
        # On a line not yet learnt when the turn opened, what keeps it open must be near the
        # caller's own loudest; on a learnt line the line alone decides (people's soft words lie
        # 20 dB below their loudest for longer than the quiet that ends a turn).
        caller = loud and (not self._opened_unlearnt or level > self._caller - s.voices_drop_db)
        self._quiet = 0 if caller else self._quiet + 1
        self._speech_frames += 1
        if self._quiet >= s.end_frames or self._speech_frames >= s.max_frames:
            self._speaking, self._ended = False, True
            if self._quiet >= s.end_frames:
                self._learn_from_turn()
            else:
                self._cut_off = True
            return TurnEvent.END
        return TurnEvent.PAUSE if self._quiet == s.pause_frames else None

    def _soft_db(self) -> float:
        """The level a soft word of the caller passes before a turn opens: the line's median
        plus `onset_margin_db` (never below what is loud against the floor)."""
        s = self.settings
        heard = self._background_sorted
        if not heard:
            return s.absolute_db
        return max(_percentile(heard, 50) + s.onset_margin_db, heard[0] + s.margin_db, s.absolute_db)

    def _reach_back(self) -> None:
        """At the start: the caller's soft first words before the loud ones that opened the turn
        (`Settings.onset_margin_db`) join the utterance as speech, from the pre-roll and from
        the frames it let go; none, when fewer than `start_frames` voiced frames are found. A
        soft word's unvoiced frames (a consonant, a word's weak end) keep it contiguous."""
        s = self.settings
        frames = list(self._history) + self._kept
        soft_db = max(self._soft_db(), self._caller - s.caller_drop_db)
        opening = len(frames) - len(self._recent) + next(i for i, w in enumerate(self._recent) if w)  # the frames that opened it
        onset, found, gap = opening, 0, 0
        for i in range(opening - 1, -1, -1):
            if frames[i].level <= soft_db:
                gap += 1
                if gap >= s.end_frames:
                    break
                continue
            gap = 0
            if frames[i].soft:
                onset, found = i, found + 1
        if found < s.start_frames:
            return
        for frame in frames[onset:opening]:
            if frame.soft and frame.level > soft_db:
                frame.speech = frame.loud = True
        first = min(max(onset - _PAD_FRAMES, 0), len(self._history))  # the pre-roll's frames stay
        self._kept = frames[first:]

    def _talking(self, level: float, speech: bool) -> bool:
        """Whether a frame of the utterance counts towards a barge-in (`voiced_frames`)."""
        return speech and level > self._talker_db

    def _learn_from_turn(self) -> None:
        """What a turn that ended in quiet teaches the line, so that the next turn is judged
        against voices only the caller's level told apart: the quiet that ended it (the line as
        it sounds now; what `utterance()` keeps of it may be the last word's tail), and, if the
        turn opened before the line was learnt (voices that began with the call opened it), all
        of its frames far below the caller. A turn on a learnt line keeps its soft words out."""
        s = self.settings
        if self._opened_unlearnt:
            heard = [kept.level for kept in self._kept if kept.level <= self._caller - s.voices_drop_db]
        else:
            heard = [kept.level for kept in self._kept[len(self._kept) - self._quiet + _TAIL_FRAMES:]]
        for level in heard:
            self._learn_background(level)

    def utterance(self) -> Spoken:
        """The last utterance (int16, 8 kHz) without its trailing quiet, and its speech as the
        endpointer judged each frame when it came (loud against the line as it then knew it,
        and voiced). A function of the frames kept, so at a pause that runs on to the end it is
        the same as at the end. Of one cut off, its last seconds of the caller
        (`Settings.cut_off_frames`), or its seconds from just before the loudest speech frame
        when those leave it out."""
        s = self.settings
        kept = self._kept
        last = len(kept) - max(self._quiet - _TAIL_FRAMES, 0)
        start, end = 0, last
        if self._cut_off:
            caller = [i for i, frame in enumerate(kept) if frame.speech and frame.level > self._caller - s.caller_drop_db]
            end = min(caller[-1] + 1 + _TAIL_FRAMES, last) if caller else last
            start = max(end - s.cut_off_frames, 0)
            # The caller's loudest speech frame is theirs: they are close to the microphone. Last
            # seconds that leave it out are the voices that held the turn open (within
            # `caller_drop_db` of the caller they pass for them), not the caller's words, which
            # came before them: then the seconds from just before it.
            loudest = max(caller, key=lambda i: kept[i].level) if caller else start
            if loudest < start:
                start = max(loudest - _LEAD_FRAMES, 0)
                end = min(start + s.cut_off_frames, last)
        if end <= start:
            return Spoken(np.zeros(0, np.int16), None)
        frames = kept[start:end]
        samples = np.concatenate([frame.samples for frame in frames])
        return Spoken(samples, _span([frame.loud for frame in frames], [frame.speech for frame in frames], s))


def _percentile(ordered: list[float], percent: float) -> float:
    """The nearest-rank percentile of levels already in order."""
    return ordered[round((len(ordered) - 1) * percent / 100)]


def _span(loud: Sequence[bool] | np.ndarray, speech: Sequence[bool], settings: Settings,
          pad: int = _PAD_FRAMES) -> tuple[int, int] | None:
    """(start, end) sample indices of the speech among these frames, each judged loud and
    speech (loud and voiced); None when fewer are speech than open an utterance. From the
    first frame of speech to the last, widened over the loud frames either side: unvoiced
    onsets and endings (the s of "Schagen", the k of "Opmeer-k") are loud, not voiced. Then
    `pad` frames of context either side (`_PAD_FRAMES` for the recogniser)."""
    voiced = np.asarray(speech, dtype=bool)
    count = len(voiced)
    if voiced.sum() < settings.start_frames:
        return None
    first, last = int(np.argmax(voiced)), int(count - 1 - np.argmax(voiced[::-1]))
    while first > 0 and loud[first - 1]:
        first -= 1
    while last < count - 1 and loud[last + 1]:
        last += 1
    return max(first - pad, 0) * FRAME, min(last + 1 + pad, count) * FRAME


def whole_clip(samples: np.ndarray, settings: Settings = Settings(), pad: int = _PAD_FRAMES) -> Spoken:
    """A clip no endpointer cut (a file, a FastAGI recording), with the span of its speech.

    Over a whole clip the floor is the 10th percentile of frame levels, which is steadier than
    the streaming tracker; "speech at all" needs as many voiced loud frames as a start does.
    """
    samples = np.asarray(samples, dtype=np.int16)
    count = len(samples) // FRAME
    if count == 0:
        return Spoken(samples, None)
    frames = samples[: count * FRAME].reshape(count, FRAME)
    levels = np.array([frame_level_db(f) for f in frames])
    floor = float(np.percentile(levels, 10))
    loud = levels > max(floor + settings.margin_db, settings.absolute_db)
    windows = np.concatenate([np.vstack([np.zeros(FRAME, np.int16), frames[:-1]]), frames], axis=1)
    voiced = [bool(l) and is_voiced(w, settings.voicing) for w, l in zip(windows, loud)]
    return Spoken(samples, _span(loud, voiced, settings, pad))
