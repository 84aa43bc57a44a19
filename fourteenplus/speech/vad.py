"""Endpointing over 20 ms frames of 8 kHz telephone audio, with numpy only.

A frame is speech when it is loud against the line's own noise floor *and* voiced (a pitch
period between 2.5 and 16 ms shows in its autocorrelation). The voicing test is what keeps
a cough, a door or hiss from opening an utterance: those are loud but aperiodic. The noise
floor follows the quietest recent frames: it drops at once and rises slowly, and only while
no one speaks, so a long name does not raise it.

`Endpointer` is the streaming form the ARI adapter feeds (barge-in at speech start, end of
utterance after ~0.5 s of quiet, and a "pause" at ~0.2 s of quiet so that recognition can
start before the end is certain); `speech_span` is the whole-clip form the recogniser uses
to trim a clip and to refuse one with no speech in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RATE = 8000
FRAME = 160  # 20 ms
_MIN_LAG, _MAX_LAG = 20, 128  # pitch 62–400 Hz at 8 kHz


@dataclass(frozen=True)
class Settings:
    margin_db: float = 9.0  # above the noise floor
    absolute_db: float = -52.0  # below this (dBFS) a frame is never speech, however quiet the line
    voicing: float = 0.6  # normalised autocorrelation peak: white noise stays under 0.4 at 40 ms
    start_frames: int = 4  # voiced frames in the last 6 that open an utterance (≈80 ms)
    end_frames: int = 25  # quiet frames that close it (0.5 s)
    # Quiet frames after which the utterance so far may be the whole one (0.2 s): recognising
    # it from here hides the wait for the end. A caller who speaks on after it costs little:
    # that recognition is abandoned before its next stage (speech.service). It must stay
    # above the 5 frames of quiet `utterance()` keeps, so the audio at the pause is the audio
    # at the end.
    pause_frames: int = 10
    preroll_frames: int = 15  # audio kept from before the start, so the first syllable is not cut
    max_frames: int = 500  # 10 s: a caller who never stops still gets an answer
    floor_rise_db: float = 0.25  # per frame without speech (12.5 dB/s), so a noisy line is learnt in ~2 s
    initial_floor_db: float = -55.0  # a caller who speaks in the very first frame is not taken for the floor


def frame_level_db(frame: np.ndarray) -> float:
    x = np.asarray(frame, dtype=np.float32) / 32768.0
    return float(10.0 * np.log10(np.mean(x * x) + 1e-10))


def is_voiced(window: np.ndarray, threshold: float) -> bool:
    """Normalised autocorrelation peak over the pitch lags; `window` is 40 ms (this frame and
    the one before), so even the longest pitch period overlaps itself by 24 ms."""
    x = np.asarray(window, dtype=np.float64)
    x = x - x.mean()
    n = len(x)
    if n <= _MAX_LAG or not np.any(x):
        return False
    lags = np.arange(_MIN_LAG, _MAX_LAG)
    corr = np.correlate(x, x, mode="full")[n - 1 + lags]
    squares = np.concatenate([[0.0], np.cumsum(x * x)])
    head = squares[n - lags]  # energy of x[:n-lag]
    tail = squares[n] - squares[lags]  # energy of x[lag:]
    return float(np.max(corr / np.sqrt(head * tail + 1e-9))) >= threshold


@dataclass
class Endpointer:
    """Feed 20 ms frames (160 int16 samples); `feed` returns "start", "pause", "end" or None.

    After "end", `utterance()` holds the audio from just before the start to the end, and
    `feed` returns None until `reset()` readies it for the next utterance. The noise floor
    survives a reset: it belongs to the line, not to the utterance.

    "pause" comes once per quiet stretch inside an utterance, `pause_frames` into it. If the
    stretch runs on to "end", `utterance()` is then exactly what it was at the pause (the same
    samples, so a recognition started at the pause holds for the end); if the caller speaks
    again, the utterance grows and a later pause or end supersedes it.
    """

    settings: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        self._floor: float | None = None
        self.reset()

    def reset(self) -> None:
        self._previous = np.zeros(FRAME, np.int16)
        self._recent: list[bool] = []
        self._ended = False
        self._frames: list[np.ndarray] = []
        self._speaking = False
        self._quiet = 0
        self._speech_frames = 0
        self._voiced = 0

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def voiced_frames(self) -> int:
        """Frames judged speech in the utterance so far, those that opened it included: how
        sure it is a voice and not a cough or a door (a barge-in waits for enough of them)."""
        return self._voiced

    def feed(self, frame: np.ndarray) -> str | None:
        if self._ended:
            return None
        s = self.settings
        frame = np.asarray(frame, dtype=np.int16)
        level = frame_level_db(frame)
        if self._floor is None:
            self._floor = min(level, s.initial_floor_db)
        self._floor = min(self._floor, level)
        loud = level > max(self._floor + s.margin_db, s.absolute_db)
        speech = loud and is_voiced(np.concatenate([self._previous, frame]), s.voicing)
        self._previous = frame
        self._frames.append(frame)
        if not self._speaking:
            if not speech:
                self._floor += s.floor_rise_db
            self._recent = (self._recent + [speech])[-6:]
            del self._frames[: -s.preroll_frames]
            if sum(self._recent) >= s.start_frames:
                self._speaking, self._quiet, self._speech_frames = True, 0, 0
                self._voiced = sum(self._recent)
                return "start"
            return None
        self._voiced += speech
        self._quiet = 0 if loud else self._quiet + 1
        self._speech_frames += 1
        if self._quiet >= s.end_frames or self._speech_frames >= s.max_frames:
            self._speaking, self._ended = False, True
            return "end"
        return "pause" if self._quiet == s.pause_frames else None

    def utterance(self) -> np.ndarray:
        """The audio of the last utterance (int16, 8 kHz), without its trailing quiet."""
        keep = len(self._frames) - max(self._quiet - 5, 0)
        return np.concatenate(self._frames[:keep]) if self._frames else np.zeros(0, np.int16)


def speech_span(samples: np.ndarray, settings: Settings = Settings()) -> tuple[int, int] | None:
    """(start, end) sample indices of the speech in a whole clip, padded a little; None if none.

    Over a whole clip the floor is the 10th percentile of frame levels, which is steadier than
    the streaming tracker; "speech at all" needs as many voiced loud frames as a start does.
    """
    samples = np.asarray(samples, dtype=np.int16)
    count = len(samples) // FRAME
    if count == 0:
        return None
    frames = samples[: count * FRAME].reshape(count, FRAME)
    levels = np.array([frame_level_db(f) for f in frames])
    floor = float(np.percentile(levels, 10))
    loud = levels > max(floor + settings.margin_db, settings.absolute_db)
    windows = np.concatenate([np.vstack([np.zeros(FRAME, np.int16), frames[:-1]]), frames], axis=1)
    voiced = np.array([bool(l) and is_voiced(w, settings.voicing) for w, l in zip(windows, loud)])
    if voiced.sum() < settings.start_frames:
        return None
    first, last = int(np.argmax(voiced)), int(count - 1 - np.argmax(voiced[::-1]))
    # Unvoiced onsets and endings (the s of "Schagen", the k of "Opmeer-k") are loud, not voiced.
    while first > 0 and loud[first - 1]:
        first -= 1
    while last < count - 1 and loud[last + 1]:
        last += 1
    pad = 5  # 100 ms of context either side helps whisper with the first and last phoneme
    return max(first - pad, 0) * FRAME, min(last + 1 + pad, count) * FRAME
