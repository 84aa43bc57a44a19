"""G.711 decoding against the ITU tables' known points, and the 8k→16k resampler."""

import numpy as np
import pytest

from fourteenplus.speech import audio


def test_ulaw_known_codes():
    assert audio.decode(bytes([0xFF, 0x7F, 0x00, 0x80]), "ulaw").tolist() == [0, 0, -32124, 32124]


def test_alaw_known_codes():
    assert audio.decode(bytes([0xD5, 0x55, 0x2A, 0xAA]), "alaw").tolist() == [8, -8, -32256, 32256]


@pytest.mark.parametrize("encoding", ["ulaw", "alaw"])
def test_g711_round_trip_keeps_speech_level_signal_within_a_quantisation_step(encoding):
    samples = (np.sin(np.linspace(0, 40 * np.pi, 800)) * 12000).astype(np.int16)
    decoded = audio.decode(audio.encode(samples, encoding), encoding).astype(np.int32)
    # G.711 steps are at most 1/16 of the segment's magnitude (plus the smallest step).
    assert np.all(np.abs(decoded - samples) <= np.abs(samples) / 16 + 16)


def test_slin_is_little_endian_and_ignores_an_odd_trailing_byte():
    assert audio.decode(b"\x01\x00\xff\xff\x07", "slin").tolist() == [1, -1]


def test_unknown_encoding_is_refused():
    with pytest.raises(ValueError, match="ulaw, alaw, slin"):
        audio.decode(b"\x00", "gsm")


def test_upsampling_doubles_length_and_keeps_an_in_band_tone():
    t = np.arange(8000) / 8000
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    up = audio.upsample_8k_to_16k(tone)
    assert len(up) == 16000
    reference = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    assert np.max(np.abs(up[200:-200] - reference[200:-200])) < 0.02


def test_wav_reader_accepts_8k_pcm_and_refuses_other_rates(tmp_path):
    samples = (np.arange(160) * 100 - 8000).astype(np.int16)
    audio.write_wav(tmp_path / "a.wav", samples)
    assert audio.read_telephone(tmp_path / "a.wav").tolist() == samples.tolist()
    audio.write_wav(tmp_path / "b.wav", samples, rate=16000)
    with pytest.raises(ValueError, match="sox"):
        audio.read_telephone(tmp_path / "b.wav")


def test_raw_ulaw_file_by_suffix(tmp_path):
    (tmp_path / "x.ul").write_bytes(bytes([0xFF, 0x00]))
    assert audio.read_telephone(tmp_path / "x.ul").tolist() == [0, -32124]
