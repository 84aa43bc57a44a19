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
import logging
import os
import re
import secrets
import time
import wave
from pathlib import Path

import numpy as np

from .. import paths
from ..config import RecordSettings
from .places import audio_folder
from .schema import CallRecord

log = logging.getLogger(__name__)

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
    """Utterance audio kept for tuning (`fourteenplus tune`), only when the operator switched it
    on: one WAV per utterance the recogniser heard (8 kHz, 16-bit, as heard), named by call id
    and turn (`<call id>-<attempt seq>.wav`, the attempt's `audio`), mode 0600 in a folder of
    mode 0700: `records.audio_dir`, else `audio/` beside the SQLite records (the state dir's
    for PostgreSQL, whose rows have no folder of their own)."""

    def __init__(self, settings: RecordSettings, folder: Path | None = None):
        self.enabled = settings.keep_audio
        self.retention_days = settings.audio_retention_days
        self.folder = folder or audio_folder(settings)

    @staticmethod
    def name(call_id: str, turn: int) -> str:
        return f"{call_id}-{turn}.wav"

    def save(self, call_id: str, turn: int, pcm16: bytes | np.ndarray, rate: int = 8000) -> Path | None:
        """Write one utterance (16-bit mono PCM) as WAV; nothing at all when keep_audio is off."""
        if not self.enabled:
            return None
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.folder / self.name(call_id, turn)
        # Created 0600, not chmod-ed after: the voice is never readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(np.asarray(pcm16, dtype="<i2").tobytes() if isinstance(pcm16, np.ndarray) else pcm16)
        return path

    def call(self, record: CallRecord) -> CallAudio:
        """What one call's adapter keeps its utterances with."""
        return CallAudio(self, record)

    def remove(self, names: list[str]) -> int:
        """Remove the kept files of purged records (their attempts' `audio`); returns how many were there."""
        removed = 0
        for name in names:
            path = self.folder / Path(name).name  # a stored name never leads out of the folder
            if path.exists():
                path.unlink(missing_ok=True)
                removed += 1
        return removed

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


class CallAudio:
    """One call's utterances, each kept under the attempt it became.

    The adapter says which event an utterance was recognised into (`heard`) and, once the
    call flow has handled that event, which attempts it added (`handled`): those name the
    file. The files are written when the call ends (`save`, blocking: off the event loop),
    before its record is stored, so a stored record never names audio that was never written.
    An utterance whose event made no attempt (the caller had already pressed a key) is not kept.
    """

    def __init__(self, archive: AudioArchive, record: CallRecord):
        self.archive = archive
        self.record = record
        self._pending: dict[int, tuple[object, np.ndarray]] = {}  # by id(event), the event kept alive
        self._kept: list[tuple[int, np.ndarray]] = []  # (attempt seq, samples)

    def heard(self, event: object, samples: np.ndarray) -> None:
        self._pending[id(event)] = (event, samples)

    def handled(self, event: object, before: int) -> None:
        """The flow handled `event`; attempts from `before` on are what it made of it."""
        pending = self._pending.pop(id(event), None)
        if pending is None:
            return
        for seq in range(before, len(self.record.attempts)):
            self.record.attempts[seq].audio = self.archive.name(self.record.call_id, seq)
            self._kept.append((seq, pending[1]))

    def save(self) -> None:
        for seq, samples in self._kept:
            try:
                self.archive.save(self.record.call_id, seq, samples)
            except OSError as exc:
                log.warning("kept audio: utterance %d of call %s not written: %s", seq, self.record.call_id, exc)
                self.record.attempts[seq].audio = None
        self._kept.clear()
