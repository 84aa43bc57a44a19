"""A caller's own history, read from the records through the keyed caller hash only.

When the operator switches it on (`history.days` in the configuration, read per call, so a
reload switches it), each call of a shared area asks the record store which municipality this caller last chose from the same
area within those days. The answer reaches the call flow as a `Suggested` event whenever it
comes; a store that is slow or down only means no suggestion: the lookup is bounded, runs on
a thread of its own (a store connection is not shared with the record writer), and a caller
never waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from ..config import RecordSettings
from .privacy import CallerHasher
from .store import Store, open_store

log = logging.getLogger(__name__)

# Longer than a healthy store takes (an indexed lookup), shorter than the question the caller
# hears meanwhile: a suggestion that comes after the caller's first answer is of little use.
LOOKUP_S = 1.0
DAY_S = 86400


class CallerHistory:
    def __init__(self, records: RecordSettings, hasher: CallerHasher):
        self.records = records
        self.hasher = hasher
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="caller-history")
        self._store: Store | None = None

    async def last_chosen(self, caller: str | None, area_code: str, days: int) -> str | None:
        """The municipality this caller last chose from this area in the last `days`, or None
        (no number, none on record, or the store did not answer in time)."""
        caller_hash = self.hasher.hash(caller)
        if not caller_hash:
            return None
        since = time.time() - days * DAY_S
        future = self._pool.submit(self._lookup, caller_hash, area_code, since)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), LOOKUP_S)
        except asyncio.TimeoutError:
            log.warning("caller history: the record store did not answer in %.1f s; no suggestion", LOOKUP_S)
        except Exception as exc:  # a store that fails costs the suggestion only, never the call
            log.warning("caller history: %s; no suggestion", exc)
        return None

    def _lookup(self, caller_hash: str, area_code: str, since: float) -> str | None:
        try:
            if self._store is None:
                self._store = open_store(self.records)
            return self._store.last_chosen(caller_hash, area_code, since)
        except Exception:
            self._drop()  # reconnect on the next call
            raise

    def _drop(self) -> None:
        if self._store is not None:
            try:
                self._store.close()
            except Exception:
                pass
            self._store = None

    def close(self) -> None:
        self._pool.submit(self._drop)
        self._pool.shutdown(wait=False)
