"""A caller's surroundings for the tests: other people talking, a street, an engine.

The endpointer's unit tests and the real calls on noisy lines hear the same noises, made here
from the test corpus's own clips and numpy alone (the benches use the shared tool
`line_conditions.py`, which is not part of this repository). Each is at no level of its own:
`at_snr` puts it below the caller's words, measured against the words, not their pauses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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


def street(n: int, seed: int) -> np.ndarray:
    """Traffic (pink noise) and three people talking (the corpus's voices) at equal power, in
    the band: the shared tool's street."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    pink = telephone_band(np.fft.irfft(spectrum / np.sqrt(np.maximum(f, 1.0)), n))
    voices = babble(n, seed, talkers=3)
    return pink / pink.std() + voices / (voices.std() + 1e-9)


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
