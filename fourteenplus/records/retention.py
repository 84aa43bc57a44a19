"""Retention: records, transcripts and kept audio older than the configuration allows are removed.

One function for both `fourteenplus purge` and the running app's daily purge, so the two can
never disagree about what is too old.
"""

from __future__ import annotations

import time

from ..config import RecordSettings
from .privacy import AudioArchive
from .store import Purged, Store


def purge(settings: RecordSettings, store: Store, archive: AudioArchive | None = None,
          now: float | None = None) -> Purged:
    now = time.time() if now is None else now
    before = now - settings.retention_days * 86400
    # A kept utterance goes with its record (and on its own after audio_retention_days).
    kept = store.audio_before(before)
    purged = store.purge(before)
    archive = archive or AudioArchive(settings)
    return Purged(purged.calls, purged.attempts, purged.transcripts, archive.remove(kept) + archive.purge(now))
