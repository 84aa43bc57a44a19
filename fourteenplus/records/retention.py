"""Retention: records, transcripts and kept audio older than the configuration allows are removed.

One function for both `fourteenplus purge` and the running app's daily purge, so the two can
never disagree about what is too old.

Both trust the clock, and a clock set ahead (a host booting with a wrong RTC, before NTP)
would make every record look too old. So a purge that would remove even the newest record,
that is, whose clock says more than the retention has passed since the last call started,
is refused with `PurgeRefused` unless forced: that is a wrong clock far more often than an
installation that took no call for the whole retention period.
"""

from __future__ import annotations

import datetime as dt
import time

from ..config import RecordSettings
from .privacy import AudioArchive
from .store import Purged, Store


class PurgeRefused(Exception):
    pass


def purge(settings: RecordSettings, store: Store, archive: AudioArchive | None = None,
          now: float | None = None, force: bool = False) -> Purged:
    now = time.time() if now is None else now
    before = now - settings.retention_days * 86400
    newest = store.newest()
    if newest is not None and before > newest and not force:
        raise PurgeRefused(
            f"nothing removed: the clock says {_utc(now)}, more than the retention ({settings.retention_days} days) "
            f"after the newest record ({_utc(newest)}), so every record would go. A clock set ahead does that; "
            "check it. If no call came for that long, `fourteenplus purge --force` removes them.")
    # A kept utterance goes with its record (and on its own after audio_retention_days).
    kept = store.audio_before(before)
    purged = store.purge(before)
    archive = archive or AudioArchive(settings)
    return Purged(purged.calls, purged.attempts, purged.transcripts, archive.remove(kept) + archive.purge(now))


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
