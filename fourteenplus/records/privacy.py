"""What we keep about a caller, and how: a keyed hash of the number, audio only when asked for.

A caller's number is never stored in clear (AVG/GDPR data minimisation). It becomes an
HMAC-SHA256 under a secret that exists only on this installation (`<state dir>/caller.key`,
created at first use with mode 0600): the same caller gives the same hash, so reports and
learning can count distinct callers, but without the secret nobody can test a guessed number
against the records, which a plain hash of a 10-digit number would allow in seconds.
`records.caller_key` keeps the secret elsewhere than the records it protects (another disk,
the systemd unit's credentials): that file is only read, never created or loosened.

Audio of utterances is kept only when `records.keep_audio` is true, for tuning, and is
removed after `records.audio_retention_days` by `purge`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
import wave
from pathlib import Path

from .. import paths
from ..config import RecordSettings

SECRET_FILE = "caller.key"
_NOT_DIGIT = re.compile(r"\D")


def normalise_number(number: str) -> str:
    """One form per subscriber: +31 612…, 0031 612… and 0612… are the same caller."""
    digits = _NOT_DIGIT.sub("", number)
    if number.lstrip().startswith("+"):
        digits = "00" + digits
    if digits.startswith("0031"):
        digits = "0" + digits[4:]
    return digits


class CallerHasher:
    def __init__(self, secret: bytes):
        if len(secret) < 16:
            raise ValueError("the caller hashing secret must be at least 16 bytes")
        self._secret = secret

    @classmethod
    def configured(cls, settings: RecordSettings) -> "CallerHasher":
        """The installation's hasher: the secret `records.caller_key` names, else the state dir's."""
        return cls(read_secret(Path(settings.caller_key))) if settings.caller_key else cls.from_state()

    @classmethod
    def from_state(cls, state: Path | None = None) -> "CallerHasher":
        return cls(load_or_create_secret((state or paths.state_dir()) / SECRET_FILE))

    def hash(self, number: str | None) -> str | None:
        """The keyed hash of a number; None for an anonymous or withheld number."""
        digits = normalise_number(number) if number else ""
        if not digits:
            return None
        return hmac.new(self._secret, digits.encode(), hashlib.sha256).hexdigest()


def load_or_create_secret(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        # O_EXCL: two processes starting at once must not each write their own secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)  # somebody loosened it; the secret is only useful while private
        return read_secret(path)
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(32))
    return path.read_bytes()


def read_secret(path: Path) -> bytes:
    secret = path.read_bytes()
    if len(secret) < 16:
        raise ValueError(f"{path}: the caller hashing secret is damaged (under 16 bytes)")
    if path.stat().st_mode & 0o004:
        raise ValueError(f"{path}: the caller hashing secret is readable by every user (chmod o-r)")
    return secret


class AudioArchive:
    """Utterance audio kept for tuning, only when the operator switched it on."""

    def __init__(self, settings: RecordSettings, folder: Path | None = None):
        self.enabled = settings.keep_audio
        self.retention_days = settings.audio_retention_days
        self.folder = folder or paths.state_dir() / "audio"

    def save(self, call_id: str, attempt: int, pcm16: bytes, rate: int = 8000) -> Path | None:
        """Write one utterance (16-bit mono PCM) as WAV; nothing at all when keep_audio is off."""
        if not self.enabled:
            return None
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.folder / f"{call_id}-{attempt}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(pcm16)
        os.chmod(path, 0o600)
        return path

    def purge(self, now: float | None = None) -> int:
        """Remove audio older than its retention, kept or not (keep_audio may have been switched off)."""
        if not self.folder.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * 86400
        removed = 0
        for path in self.folder.glob("*.wav"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
