"""Writing call records without ever holding up or failing a call.

`RecordWriter.write(record)` is safe to call from the asyncio event loop or any thread: it
hashes the caller, queues the row and returns. One background thread owns the store:

- a failed insert is retried (with back-off) on a fresh connection;
- a row that still cannot be stored goes to a spool file (`<state dir>/records-spool.jsonl`,
  mode 0600, caller already hashed) and the store counts as down for `down_s`, so calls arriving
  meanwhile are spooled at once instead of each waiting out the retries;
- the first successful insert after that replays the spool (inserts are idempotent by call id,
  so a row replayed twice is stored once); so does the end of the down period when no call
  came, so a cluster node's records arrive once its PostgreSQL is back, not at its next call;
- a full queue (the store far behind) spools in the caller's thread rather than blocking it;
- only if even the spool cannot be written is the row lost, and then the log says which call.

The same thread runs the retention purge every `purge_every_s` (daily in the app), so a
running installation enforces retention without a cron job.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Callable

from .. import paths
from ..config import RecordSettings
from .privacy import CallerHasher
from .retention import purge
from .schema import CallRecord
from .store import Row, Store, open_store

log = logging.getLogger(__name__)

SPOOL_FILE = "records-spool.jsonl"
_STOP = object()
_PURGE = object()
_REPLAY = object()


class RecordWriter:
    def __init__(self, settings: RecordSettings, *, hasher: CallerHasher | None = None, spool: Path | None = None,
                 retries: int = 3, retry_delay_s: float = 0.2, down_s: float = 30.0,
                 purge_every_s: float | None = 86400.0, queue_size: int = 10000,
                 on_failure: Callable[[], None] | None = None,
                 opener: Callable[[RecordSettings], Store] = open_store):
        self.settings = settings
        self.hasher = hasher or _hasher_or_none()  # the session logs its calls with it too
        self._spool_path = spool or paths.state_dir() / SPOOL_FILE
        self._spool_lock = threading.Lock()
        self._retries, self._retry_delay_s, self._down_s = retries, retry_delay_s, down_s
        self._purge_every_s = purge_every_s
        self._on_failure = on_failure
        self._opener = opener
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._store: Store | None = None
        self._down_until = 0.0
        self.written = self.spooled = self.lost = 0
        self.losing = False  # the last row went neither to the store nor to the spool: not ready
        self._thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
        self._thread.start()

    # ---- the call side: never raises, never blocks ----

    def write(self, record: CallRecord) -> None:
        try:
            row = Row.of(record, self.hasher)
        except Exception:
            log.exception("call record of %s could not be converted; it is not stored", record.dialled)
            self._failed()
            return
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self._spool(row)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything written so far is stored or spooled; False on timeout."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    # ---- the writer thread ----

    def _run(self) -> None:
        next_purge = time.monotonic()  # purge once at start, then on schedule
        while True:
            # without a down period (down_s 0) every call tries the store itself: no wake-up,
            # which would be a busy loop against a dead store
            replay = self._down_until if self._down_s > 0 else None
            wakes = [t for t in (replay, self._purge_every_s and next_purge) if t]
            wait = max(0.0, min(wakes) - time.monotonic()) if wakes else None
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = _PURGE if self._purge_every_s and time.monotonic() >= next_purge else _REPLAY
            if item is _STOP:
                break
            if isinstance(item, threading.Event):
                item.set()
            elif item is _PURGE and self._purge_every_s is not None:  # only a timed wait ends in one
                self._purge()
                next_purge = time.monotonic() + self._purge_every_s
            elif item is _REPLAY:
                self._replay_when_back()
            else:
                self._store_row(item)
        if self._store is not None:
            self._store.close()

    def _store_row(self, row: Row) -> None:
        if time.monotonic() < self._down_until:
            self._spool(row)
            return
        for attempt in range(self._retries):
            try:
                self._connected().insert(row)
                break
            except Exception as exc:
                log.warning("record store: storing call %s failed (try %d of %d): %s",
                            row.call["call_id"], attempt + 1, self._retries, exc)
                self._disconnect()
                time.sleep(self._retry_delay_s * 2 ** attempt)
        else:
            self._down_until = time.monotonic() + self._down_s
            self._spool(row)
            return
        self.written += 1
        self.losing = False
        try:
            self._replay_spool()
        except Exception as exc:
            log.warning("record spool: replay stopped, the rest waits for the next call: %s", exc)
            self._disconnect()

    def _replay_when_back(self) -> None:
        """The down period is over: replay the spool if the store answers, else wait another."""
        if time.monotonic() < self._down_until:
            return
        self._down_until = 0.0
        try:
            self._connected()
            self._replay_spool()
        except Exception as exc:
            log.warning("record store still down, spooled calls wait %.0f s more: %s", self._down_s, exc)
            self._disconnect()
            self._down_until = time.monotonic() + self._down_s

    def _connected(self) -> Store:
        if self._store is None:
            self._store = self._opener(self.settings)
        return self._store

    def _disconnect(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception:
                pass  # it is being thrown away because it failed; its close may fail too

    def _purge(self) -> None:
        try:
            log.info("record retention: %s", purge(self.settings, self._connected()))
        except Exception as exc:
            log.warning("record retention: purge failed, will try again on schedule: %s", exc)
            self._disconnect()

    # ---- the spool ----

    def _spool(self, row: Row) -> None:
        try:
            with self._spool_lock:
                self._spool_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                with open(self._spool_path, "a", encoding="utf-8", opener=_private) as out:
                    out.write(row.to_json() + "\n")
            self.spooled += 1
            self.losing = False
        except OSError as exc:
            self.lost += 1
            self.losing = True
            log.error("call %s (%s, outcome %s) is lost: neither the store nor the spool %s took it: %s",
                      row.call["call_id"], row.call["dialled"], row.call["outcome"], self._spool_path, exc)
        self._failed()

    def spool_depth(self) -> int:
        """Rows waiting in the spool for the store (a gauge): read without the lock, so a row
        being written or replayed may be counted or not."""
        try:
            with open(self._spool_path, "rb") as spool:
                return sum(1 for _ in spool)
        except FileNotFoundError:
            return 0

    def _replay_spool(self) -> None:
        with self._spool_lock:
            if not self._spool_path.exists():
                return
            lines = self._spool_path.read_text(encoding="utf-8").splitlines()
            for index, line in enumerate(lines):
                try:
                    self._connected().insert(Row.from_json(line))
                except ValueError as exc:  # a torn last line from a crash mid-write
                    log.error("record spool: skipping an unreadable line: %s", exc)
                except Exception:
                    with open(self._spool_path, "w", encoding="utf-8", opener=_private) as out:
                        out.write("".join(rest + "\n" for rest in lines[index:]))
                    raise
            self._spool_path.unlink()
            log.info("record spool: %d spooled calls stored", len(lines))

    def _failed(self) -> None:
        if self._on_failure is not None:
            try:
                self._on_failure()
            except Exception:
                log.exception("record writer: the failure callback failed")


def _private(path, flags):
    return os.open(path, flags, 0o600)


def _hasher_or_none() -> CallerHasher | None:
    """Without a secret callers are stored as unknown, never in clear, and calls still flow."""
    try:
        return CallerHasher.from_state()
    except (OSError, ValueError) as exc:
        log.error("caller hashing secret unavailable, caller numbers will not be recorded: %s", exc)
        return None
