"""Call records: one per call, stored without caller numbers in clear, kept only as long as allowed.

- `schema`: `CallRecord` and its `Attempt`s, what the call flow fills and the store keeps.
- `store`: the SQLite/PostgreSQL store with versioned migrations (`open_store(settings)`).
- `writer`: `RecordWriter`, what the adapters use; it never fails or delays a call.
- `privacy`: the keyed hash of caller numbers and opt-in audio.
- `retention`: `purge`, shared by `fourteenplus purge` and the running app.

Adapters (ARI and FastAGI) do, once at start-up and once per call:

    writer = RecordWriter(service.records)          # at start-up
    writer.write(flow.record)                       # when flow.done (after DialResult, if any)
    writer.close()                                  # at shutdown: flushes the queue
"""

from .privacy import AudioArchive, CallAudio, CallerHasher
from .retention import PurgeRefused, purge
from .schema import Attempt, CallRecord
from .store import Purged, Row, Store, StoredCall, StoreError, open_store
from .writer import RecordWriter

__all__ = ["Attempt", "AudioArchive", "CallAudio", "CallRecord", "CallerHasher", "PurgeRefused", "Purged", "RecordWriter",
           "Row", "Store", "StoreError", "StoredCall", "open_store", "purge"]
