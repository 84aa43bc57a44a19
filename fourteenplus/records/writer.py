"""Writing call records without ever holding up or failing a call.

`RecordWriter.write(record)` is safe to call from the asyncio event loop or any thread: it
hashes the caller, queues the row and returns. One background thread owns the store:

- a failed insert is retried (with back-off) on a fresh connection;
- a row that still cannot be stored goes to the spool (`<state dir>/records-spool/`, one file
  per call named by its call id, mode 0600, caller already hashed) and the store counts as down
  for `down_s`, so calls arriving meanwhile are spooled at once instead of each waiting out the
  retries. Each file is written to a temporary name, fsynced, renamed and the directory fsynced:
  a crash leaves either the whole row or a temporary file that replay ignores, and `run` and
  `agi` sharing one state directory never touch each other's rows. The spool holds at most
  `records.spool_max` calls: past that a row is lost, with an ERROR line and `on_lost` (a metric);
- the first successful insert after that replays the spool (inserts are idempotent by call id,
  so a row replayed twice is stored once); so does the end of the down period when no call
  came, so a cluster node's records arrive once its PostgreSQL is back, not at its next call;
- a full queue (the store far behind) spools in the caller's thread rather than blocking it;
- only if even the spool cannot be written is the row lost, and then the log says which call.

The same thread runs the retention purge every `purge_every_s` (daily in the app), so a
running installation enforces retention without a cron job.
"""

from __future__ import annotations

import contextlib
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
from .retention import PurgeRefused, purge
from .schema import CallRecord
from .store import Row, Store, open_store

log = logging.getLogger(__name__)

SPOOL_DIR = "records-spool"
LEGACY_SPOOL_FILE = "records-spool.jsonl"  # one file for every process, before the spool was a directory
_TEMP = ".tmp"
_STALE_TEMP_S = 3600.0  # a temporary file this old is what a crash left: a write takes milliseconds
_STOP = object()
_PURGE = object()
_REPLAY = object()


class RecordWriter:
    def __init__(self, settings: RecordSettings, *, hasher: CallerHasher | None = None, spool: Path | None = None,
                 retries: int = 3, retry_delay_s: float = 0.2, down_s: float = 30.0,
                 purge_every_s: float | None = 86400.0, queue_size: int = 10000,
                 on_failure: Callable[[], None] | None = None, on_lost: Callable[[], None] | None = None,
                 opener: Callable[[RecordSettings], Store] = open_store):
        self.settings = settings
        self.hasher = hasher or _hasher_or_none(settings)  # the session logs its calls with it too
        self._spool_dir = spool or paths.state_dir() / SPOOL_DIR
        self._spool_lock = threading.Lock()
        self._retries, self._retry_delay_s, self._down_s = retries, retry_delay_s, down_s
        self._purge_every_s = purge_every_s
        self._on_failure, self._on_lost = on_failure, on_lost
        self._opener = opener
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._store: Store | None = None
        self._down_until = 0.0
        self.written = self.spooled = self.lost = 0
        self.losing = False  # the last row went neither to the store nor to the spool: not ready
        self._thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
        self._thread.start()

    # ---- the call side: never raises, never blocks ----

    def write(self, record: CallRecord, final: bool = True) -> None:
        """`final` False: the record as it stands before the dial result (see `Row`)."""
        try:
            row = Row.of(record, self.hasher, final=final)
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
        self._adopt_legacy_spool()
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
        except PurgeRefused as exc:
            log.error("record retention: %s", exc)
        except Exception as exc:
            log.warning("record retention: purge failed, will try again on schedule: %s", exc)
            self._disconnect()

    # ---- the spool ----

    def _spool(self, row: Row) -> None:
        try:
            self._into_spool(row)
            self.spooled += 1
            self.losing = False
        except OSError as exc:
            self.lost += 1
            self.losing = True
            log.error("call %s (%s, outcome %s) is lost: neither the store nor the spool %s took it: %s",
                      row.call["call_id"], row.call["dialled"], row.call["outcome"], self._spool_dir, exc)
            self._call(self._on_lost)
        self._failed()

    def spool_depth(self) -> int:
        """Calls waiting in the spool for the store (a gauge): read without the lock, so a call
        being spooled or replayed may be counted or not."""
        try:
            return sum(1 for entry in os.scandir(self._spool_dir) if entry.name.endswith(".json"))
        except FileNotFoundError:
            return 0

    def _into_spool(self, row: Row) -> None:
        with self._spool_lock:
            self._spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            held = sum(1 for entry in os.scandir(self._spool_dir) if entry.name.endswith(".json"))
            if held >= self.settings.spool_max:
                raise OSError(f"the spool is full ({held} calls, records.spool_max {self.settings.spool_max})")
            _write_atomically(self._spool_dir / f"{row.call['call_id']}.json", row.to_json())

    def _replay_spool(self) -> None:
        """Store every spooled call; when the store fails, that call and the rest stay for later.
        Without the spool lock: each file is whole and its own, so a call spooled meanwhile (by
        a caller's thread, or the other adapter) is simply left for the next replay."""
        if not self._spool_dir.is_dir():
            return
        stored = 0
        for path in sorted(self._spool_dir.iterdir()):
            if path.name.endswith(_TEMP):  # a write in progress, or one a crash cut short
                with contextlib.suppress(FileNotFoundError):  # renamed meanwhile: a finished write
                    if time.time() - path.stat().st_mtime > _STALE_TEMP_S:
                        log.warning("record spool: removing %s, a write a crash cut short", path.name)
                        path.unlink(missing_ok=True)
                continue
            if not path.name.endswith(".json"):
                continue
            try:
                row = Row.from_json(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue  # the other adapter on this state directory replayed it
            except (ValueError, KeyError) as exc:  # whole files only: a damaged disk
                log.error("record spool: %s is unreadable, moved aside: %s", path.name, exc)
                path.rename(path.with_suffix(".unreadable"))
                continue
            self._connected().insert(row)
            path.unlink(missing_ok=True)
            stored += 1
        if stored:
            log.info("record spool: %d spooled calls stored", stored)

    def _adopt_legacy_spool(self) -> None:
        """Calls an older fourteenplus spooled into one file move into the spool directory."""
        legacy = self._spool_dir.parent / LEGACY_SPOOL_FILE
        try:
            lines = legacy.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.error("record spool: cannot read %s, its calls wait there: %s", legacy, exc)
            return
        try:
            for line in lines:
                try:
                    row = Row.from_json(line)
                except (ValueError, KeyError) as exc:  # a torn last line from a crash mid-write
                    log.error("record spool: skipping an unreadable line of %s: %s", legacy, exc)
                    continue
                self._into_spool(row)
        except OSError as exc:
            log.error("record spool: cannot move the calls of %s into %s, they wait there: %s",
                      legacy, self._spool_dir, exc)
            return
        legacy.unlink(missing_ok=True)

    def _failed(self) -> None:
        self._call(self._on_failure)

    @staticmethod
    def _call(callback: Callable[[], None] | None) -> None:
        if callback is not None:
            try:
                callback()
            except Exception:
                log.exception("record writer: a failure callback failed")


def _write_atomically(path: Path, text: str) -> None:
    """`path` holds all of `text` or does not exist, also after a crash or a power cut."""
    temp = path.with_name(f".{path.name}.{os.getpid()}{_TEMP}")
    try:
        with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)


def _hasher_or_none(settings: RecordSettings) -> CallerHasher | None:
    """Without a secret callers are stored as unknown, never in clear, and calls still flow."""
    try:
        return CallerHasher.configured(settings)
    except (OSError, ValueError) as exc:
        log.error("caller hashing secret unavailable, caller numbers will not be recorded: %s", exc)
        return None
