"""End to end on a noisy line: callers with other people talking around them from the answer
on (issue 32). The background is other voices, cut to the telephone band (300–3400 Hz, sox)
and mixed at a signal-to-noise ratio against the caller's words, not their pauses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from fourteenplus import prompts
from fourteenplus.sipp import PressKeys, Say, WaitPrompt
from fourteenplus.speech import audio

from .test_calls import RECOGNISED_WITHIN_MS, users

CORPUS = Path(__file__).parent.parent / "data" / "corpus"
TALKERS = ("medemblik", "drechterland-carrier", "opmeer", "zwaag", "hoogkarspel-carrier", "amsterdam", "weet-niet")


def active_level(x: np.ndarray) -> float:
    """Power of the 20 ms frames within 25 dB of the loudest: the words, not the pauses."""
    frames = x[: len(x) // 160 * 160].reshape(-1, 160).astype(np.float64)
    power = (frames**2).mean(axis=1) + 1e-9
    return float(power[power > power.max() / 10**2.5].mean())


def babble_line(tmp_path: Path, words: str, snr_db: float, seconds: float = 30.0) -> Path:
    """Five other voices at once, `snr_db` below `words` as the caller says them."""
    said = tmp_path / "said.ulaw"
    prompts.speak(words, "nl", {"ulaw": said})
    level = active_level(audio.decode(said.read_bytes(), "ulaw"))
    rng = np.random.default_rng(32)
    n = int(seconds * 8000)
    talk = np.zeros(n)
    for _ in range(5):
        clips = [audio.read_telephone(CORPUS / f"{name}.wav").astype(np.float64) for name in rng.permutation(TALKERS)]
        voice = np.concatenate(clips * (n // sum(map(len, clips)) + 2))
        start = int(rng.integers(0, len(voice) - n))
        talk += voice[start:start + n]
    wide, band = tmp_path / "babble-wide.wav", tmp_path / "babble.wav"
    audio.write_wav(wide, (talk / np.abs(talk).max() * 16000).astype(np.int16))
    subprocess.run(["sox", str(wide), str(band), "sinc", "300-3400"], check=True)
    noise = audio.read_telephone(band).astype(np.float64)
    noise *= np.sqrt(level / np.mean(noise**2) / 10 ** (snr_db / 10))
    audio.write_wav(band, noise.clip(-32768, 32767).astype(np.int16))
    return band


@pytest.mark.parametrize("snr_db", [20, 10])
def test_a_name_said_with_other_voices_around_reaches_its_municipality(call, tmp_path, snr_db):
    line = babble_line(tmp_path, "Koggenland", snr_db)
    result = call("140229", [WaitPrompt(), Say("Koggenland")], line=line)
    assert users(result) == ["koggenland"]
    # Recognised as the words ended, not after the flow's backstop (~10 s) and the menu.
    assert result.speech_end_to_invite_ms < RECOGNISED_WITHIN_MS


def test_a_caller_with_only_voices_around_is_asked_again_and_not_put_through_by_speech(call, tmp_path):
    # question, voices, "again", voices, the menu (Hoorn 1, Medemblik 2, Drechterland 3 …)
    line = babble_line(tmp_path, "Koggenland", 20)
    result = call("140229", [WaitPrompt(), WaitPrompt(), WaitPrompt(), PressKeys("3")], line=line)
    assert users(result) == ["drechterland"]
