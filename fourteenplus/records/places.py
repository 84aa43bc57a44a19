"""Where the records live on this machine: the SQLite file and the kept audio beside it.

Its own module because both the store (the file it opens) and the audio archive (the folder
beside that file) need it, and neither should import the other for it."""

from __future__ import annotations

from pathlib import Path

from .. import paths
from ..config import RecordSettings


def sqlite_path(settings: RecordSettings) -> Path:
    if settings.url and settings.url.startswith("sqlite:///"):
        return Path(settings.url[len("sqlite:///"):])
    return Path(settings.path) if settings.path else paths.state_dir() / "records.db"


def audio_folder(settings: RecordSettings) -> Path:
    """Where kept audio lives: `records.audio_dir`, else beside the records (see AudioArchive)."""
    if settings.audio_dir:
        return Path(settings.audio_dir)
    if settings.url and settings.url.startswith(("postgresql://", "postgres://")):
        return paths.state_dir() / "audio"
    return sqlite_path(settings).parent / "audio"
