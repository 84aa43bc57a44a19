"""Telephone audio ⇄ the float32 16 kHz PCM whisper wants.

Asterisk hands us 8 kHz G.711 (μ-law in Europe's SIP trunks as often as A-law) or signed
linear 16-bit: little-endian in its files (`slin`), big-endian over RTP (`l16`, RFC 3551).
Decoding uses the G.711 tables, built once; resampling 8k→16k is a polyphase ×2 with a
windowed-sinc low-pass, which is exact enough for speech and costs well under a millisecond
per second of audio.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

TELEPHONE_RATE = 8000
WHISPER_RATE = 16000
ENCODINGS = ("ulaw", "alaw", "slin", "l16")
LINEAR = {"slin": "<i2", "l16": ">i2"}  # the signed-linear encodings, by their byte order


def _ulaw_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(codes & 0x80, magnitude, -magnitude).astype(np.int16)


ULAW = _ulaw_table()
ALAW = _alaw_table()
# Encoding picks the code whose decoded value is nearest; G.711 proper truncates inside a
# segment, so a few percent of codes differ by one step. Good enough for tests and the corpus.
_ULAW_ORDER = np.argsort(ULAW, kind="stable")
_ALAW_ORDER = np.argsort(ALAW, kind="stable")


def decode(data: bytes, encoding: str) -> np.ndarray:
    """G.711 μ-law/A-law or signed-linear bytes (little-endian `slin`, big-endian `l16`) → int16 samples."""
    raw = np.frombuffer(data, dtype=np.uint8)
    if encoding == "ulaw":
        return ULAW[raw]
    if encoding == "alaw":
        return ALAW[raw]
    if encoding in LINEAR:
        return np.frombuffer(data[: len(data) - len(data) % 2], dtype=LINEAR[encoding]).astype(np.int16)
    raise ValueError(f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")


def _nearest_code(samples: np.ndarray, table: np.ndarray, order: np.ndarray) -> np.ndarray:
    values = table[order]
    position = np.clip(np.searchsorted(values, samples), 1, len(values) - 1)
    below, above = values[position - 1], values[position]
    pick = np.where(samples - below <= above - samples, position - 1, position)
    return order[pick].astype(np.uint8)


def encode(samples: np.ndarray, encoding: str) -> bytes:
    """int16 samples → G.711 or signed-linear bytes (for tests and the corpus, not the hot path)."""
    samples = np.asarray(samples, dtype=np.int32)
    if encoding == "ulaw":
        return _nearest_code(samples, ULAW.astype(np.int32), _ULAW_ORDER).tobytes()
    if encoding == "alaw":
        return _nearest_code(samples, ALAW.astype(np.int32), _ALAW_ORDER).tobytes()
    if encoding in LINEAR:
        return np.clip(samples, -32768, 32767).astype(LINEAR[encoding]).tobytes()
    raise ValueError(f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")


def _halfband(taps: int = 31) -> np.ndarray:
    n = np.arange(taps) - (taps - 1) / 2
    kernel = np.sinc(n / 2) * np.kaiser(taps, 8.0)
    return (kernel / kernel.sum() * 2).astype(np.float32)


_UPSAMPLE_KERNEL = _halfband()


def upsample_8k_to_16k(samples: np.ndarray) -> np.ndarray:
    """×2 by zero-stuffing and a half-band low-pass; output length is exactly twice the input."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size == 0:
        return samples
    stuffed = np.zeros(samples.size * 2, dtype=np.float32)
    stuffed[::2] = samples
    return np.convolve(stuffed, _UPSAMPLE_KERNEL, mode="same").astype(np.float32)


def to_float(samples: np.ndarray) -> np.ndarray:
    return np.asarray(samples, dtype=np.float32) / 32768.0


# File suffixes for raw telephone audio, as Asterisk and sox name them.
RAW_SUFFIXES = {".ul": "ulaw", ".ulaw": "ulaw", ".pcmu": "ulaw", ".al": "alaw", ".alaw": "alaw",
                ".pcma": "alaw", ".sln": "slin", ".slin": "slin", ".raw": "slin"}


def read_telephone(path: Path) -> np.ndarray:
    """An audio file → int16 samples at 8 kHz.

    WAV (16-bit PCM, or G.711 μ-law/A-law as sox writes them) at 8 kHz, or a raw 8 kHz file
    named by its encoding (.ul, .al, .sln). Other rates are refused rather than silently
    misread: `sox in.wav -r 8000 out.wav` converts.
    """
    path = Path(path)
    encoding = RAW_SUFFIXES.get(path.suffix.lower())
    if encoding:
        return decode(path.read_bytes(), encoding)
    return _read_wav(path)


# WAVE format tags: 1 PCM, 6 A-law, 7 μ-law. The stdlib `wave` reads only PCM.
_WAV_TAGS = {1: "slin", 6: "alaw", 7: "ulaw"}


def _read_wav(path: Path) -> np.ndarray:
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a WAV file (or name raw audio .ul/.al/.sln)")
    position, fmt, payload = 12, None, None
    while position + 8 <= len(data):
        chunk, size = data[position : position + 4], int.from_bytes(data[position + 4 : position + 8], "little")
        body = data[position + 8 : position + 8 + size]
        if chunk == b"fmt ":
            fmt = body
        elif chunk == b"data":
            payload = body
        position += 8 + size + (size & 1)
    if fmt is None or payload is None:
        raise ValueError(f"{path}: WAV without fmt or data chunk")
    tag = int.from_bytes(fmt[0:2], "little")
    channels = int.from_bytes(fmt[2:4], "little")
    rate = int.from_bytes(fmt[4:8], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the real tag opens the subformat GUID
        tag = int.from_bytes(fmt[24:26], "little")
    encoding = _WAV_TAGS.get(tag)
    if encoding is None or channels != 1 or rate != TELEPHONE_RATE or (encoding == "slin" and bits != 16):
        raise ValueError(
            f"{path}: need mono 8 kHz 16-bit PCM, μ-law or A-law (found format {tag}, {channels} ch, {rate} Hz, {bits} bit); "
            "convert with: sox IN -r 8000 -c 1 -e signed -b 16 OUT.wav"
        )
    return decode(payload, encoding)


def write_wav(path: Path, samples: np.ndarray, rate: int = TELEPHONE_RATE) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.clip(np.asarray(samples), -32768, 32767).astype("<i2").tobytes())
