"""A caller's surroundings for the tests: other people talking, a street, an engine.

The endpointer's unit tests and the real calls on noisy lines hear the same noises, made here
from the test corpus's own clips and numpy alone (the benches use the shared tool
`line_conditions.py`, which is not part of this repository). Each is at no level of its own:
`at_snr` puts it below the caller's words, measured against the words, not their pauses.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np

from fourteenplus import prompts
from fourteenplus.speech import audio
from fourteenplus.speech.vad import FRAME, RATE

CORPUS = Path(__file__).parent / "data" / "corpus"
# The corpus clips the voices around a caller say (names of the area and beyond, a "weet niet").
TALKERS = ("medemblik", "drechterland-carrier", "opmeer", "zwaag", "hoogkarspel-carrier", "amsterdam", "weet-niet")


def active_level(x: np.ndarray) -> float:
    """Power of the 20 ms frames within 25 dB of the loudest: the words, not the pauses."""
    frames = x[: len(x) // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    power = (frames**2).mean(axis=1) + 1e-9
    return float(power[power > power.max() / 10**2.5].mean())


def telephone_band(x: np.ndarray) -> np.ndarray:
    """Cut to 300–3400 Hz, as a telephone line carries it."""
    spectrum = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    spectrum[(f < 300) | (f > 3400)] = 0
    return np.fft.irfft(spectrum, len(x))


def babble(n: int, seed: int, talkers: int = 5) -> np.ndarray:
    """Other voices, each looping the corpus's other clips from a random point, in the band."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    for _ in range(talkers):
        clips = [audio.read_telephone(CORPUS / f"{name}.wav").astype(np.float64) for name in rng.permutation(TALKERS)]
        talk = np.concatenate(clips * (n // sum(map(len, clips)) + 2))
        start = int(rng.integers(0, len(talk) - n))
        out += talk[start : start + n]
    return telephone_band(out)


# What a passer-by says: everyday talk that names no municipality (a name said nearby is a
# caller's business, not the street's).
PASSER_BY = ("de bus is weer te laat vandaag", "heb je dat gezien op het plein", "ik ga straks nog even boodschappen doen",
             "het regent al de hele ochtend", "waar staat jouw fiets eigenlijk")


@functools.cache
def _said(sentence: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "said.ulaw"
        prompts.speak(sentence, "nl", {"ulaw": path})
        return audio.decode(path.read_bytes(), "ulaw").astype(np.float64)


def street(n: int, seed: int, voice_db: float = 3.0) -> np.ndarray:
    """Traffic (pink noise) and someone close by talking now and then (espeak-ng, 1–3 s
    between sentences), their words `voice_db` above the traffic, in the band: a voice that
    rises above the street, as the people around a caller on the pavement do. Needs espeak-ng."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    pink = telephone_band(np.fft.irfft(spectrum / np.sqrt(np.maximum(f, 1.0)), n))
    talk: list[np.ndarray] = []
    while sum(map(len, talk)) < n:
        talk += [_said(PASSER_BY[rng.integers(len(PASSER_BY))]), np.zeros(int(rng.uniform(1.0, 3.0) * RATE))]
    voice = telephone_band(np.concatenate(talk)[:n])
    return pink / pink.std() + voice / np.sqrt(active_level(voice)) * 10 ** (voice_db / 20)


def car(n: int, seed: int) -> np.ndarray:
    """An engine's rumble as shared/tools/line_conditions.py makes it (brown, low-passed,
    throbbing), not cut to the telephone band."""
    rng = np.random.default_rng(seed)
    w = np.cumsum(rng.standard_normal(n))
    w -= np.convolve(w, np.ones(800) / 800, "same")
    b = np.convolve(w, np.ones(8) / 8, "same")
    return b * (1 + 0.3 * np.sin(2 * np.pi * 31 * np.arange(n) / RATE)) + 0.05 * b.std() * rng.standard_normal(n)


def at_snr(noise: np.ndarray, words: np.ndarray, snr_db: float) -> np.ndarray:
    """`noise` scaled to lie `snr_db` below the active level of `words` (float)."""
    return noise * np.sqrt(active_level(words) / (np.mean(noise**2) + 1e-9) / 10 ** (snr_db / 10))
