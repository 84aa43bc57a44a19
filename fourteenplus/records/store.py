"""The record store: one row per call plus its attempts, in SQLite (default) or PostgreSQL.

SQLite runs in WAL mode with a busy timeout, so the ARI app, a FastAGI server, `report` and
`purge` can use one file at the same time. PostgreSQL (`records.url: postgresql://…`) needs
the optional extra `pip install 'fourteenplus[postgres]'`. A PostgreSQL that stops answering
(a host gone, packets dropped) fails a write within seconds instead of holding the writer for
TCP's many minutes of retransmissions: a connect timeout, TCP keepalives and a user timeout,
a server-side statement timeout, and a client-side deadline on every transaction that cuts
the connection when even the server's own timeout cannot reach us. The writer then spools.
Each libpq bound can be changed in the URL (`?connect_timeout=…&keepalives_idle=…`).

The schema is versioned: `MIGRATIONS` lists every change in order, and opening a store applies
the ones it has not seen, under a lock, so two processes starting together migrate once. A
store written by a newer fourteenplus is refused rather than misread.

Rows are keyed by `call_id` (a uuid each call record gets when it starts), so writing a row again after
a lost acknowledgement is harmless: the second insert is ignored.

Each row names the node that took the call (`$FOURTEENPLUS_NODE`, else the host name), so
the nodes of a cluster can share one PostgreSQL store and a report can tell them apart.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import RecordSettings
from ..vocabulary import CallPath, Outcome
from .places import sqlite_path
from .privacy import CallerHasher
from .schema import Attempt, CallRecord

# (version, what it does, statements). Append only: a released migration never changes.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "calls, attempts and learning reviews", (
        """CREATE TABLE calls (
            call_id TEXT PRIMARY KEY,
            started_at DOUBLE PRECISION NOT NULL,
            dialled TEXT NOT NULL,
            caller_hash TEXT,
            area_code TEXT,
            path TEXT,
            municipality TEXT,
            trunk TEXT,
            outcome TEXT,
            language TEXT NOT NULL,
            abandoned_at TEXT,
            reason TEXT,
            dial_status TEXT,
            overflow_status TEXT,
            timings TEXT NOT NULL)""",
        "CREATE INDEX calls_started_at ON calls (started_at)",
        "CREATE INDEX calls_area_started_at ON calls (area_code, started_at)",
        """CREATE TABLE attempts (
            call_id TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            decision TEXT NOT NULL,
            municipality TEXT,
            score DOUBLE PRECISION,
            transcript TEXT NOT NULL,
            candidates TEXT NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY (call_id, seq))""",
        """CREATE TABLE learn_reviews (
            proposal_id TEXT PRIMARY KEY,
            decision TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            reviewed_at DOUBLE PRECISION NOT NULL)""",
    )),
    (2, "the node that took each call", (
        "ALTER TABLE calls ADD COLUMN node TEXT",
        "CREATE INDEX calls_node_started_at ON calls (node, started_at)",
    )),
    (3, "kept audio of each utterance", (
        "ALTER TABLE attempts ADD COLUMN audio TEXT",
    )),
    (4, "the municipality a caller's own history suggested, and finding a caller's last call", (
        "ALTER TABLE calls ADD COLUMN suggested TEXT",
        "CREATE INDEX calls_caller_area_started_at ON calls (caller_hash, area_code, started_at)",
    )),
    (5, "Asterisk's uniqueid and linkedid of each call, the CDR's keys", (
        "ALTER TABLE calls ADD COLUMN uniqueid TEXT",
        "ALTER TABLE calls ADD COLUMN linkedid TEXT",
        "CREATE INDEX calls_linkedid ON calls (linkedid)",
    )),
    (6, "the department a call was put through to", (
        "ALTER TABLE calls ADD COLUMN department TEXT",
    )),
)

CALL_COLUMNS = ("call_id", "started_at", "dialled", "caller_hash", "area_code", "path", "municipality",
                "trunk", "outcome", "language", "abandoned_at", "reason", "dial_status", "overflow_status", "timings",
                "node", "suggested", "uniqueid", "linkedid", "department")
ATTEMPT_COLUMNS = ("call_id", "seq", "kind", "decision", "municipality", "score", "transcript",
                   "candidates", "reason", "audio")


PURGE_BATCH = 2000  # calls removed per transaction


class StoreError(Exception):
    pass


def this_node() -> str:
    """The name this node's records carry: `$FOURTEENPLUS_NODE`, else the host name."""
    return os.environ.get("FOURTEENPLUS_NODE") or socket.gethostname()


@dataclass(frozen=True)
class Row:
    """A call as stored: plain values only (the caller already hashed), so it can wait in a spool.

    `final` False: the call as it was put through, written before the dial result so that an
    app that dies while the trunk rings still leaves its record; the final row, with the dial
    result, replaces it (a provisional row never replaces anything, so a late replay of one
    cannot undo the final). A provisional row names no kept audio: the files are written after."""
    call: dict
    attempts: list[dict] = field(default_factory=list)
    final: bool = True

    @classmethod
    def of(cls, record: CallRecord, hasher: CallerHasher | None, call_id: str | None = None,
           now: float | None = None, node: str | None = None, final: bool = True) -> "Row":
        call_id = call_id or record.call_id
        call = {
            "call_id": call_id,
            "started_at": record.started_at if record.started_at is not None else (now or time.time()),
            "dialled": record.dialled, "caller_hash": hasher.hash(record.caller) if hasher else None,
            "area_code": record.area_code, "path": record.path, "municipality": record.municipality,
            "trunk": record.trunk, "outcome": record.outcome, "language": record.language,
            "abandoned_at": record.abandoned_at,
            "reason": record.reason, "dial_status": record.dial_status,
            "overflow_status": record.overflow_status,
            "timings": json.dumps(record.timings, sort_keys=True),
            "node": node or this_node(),
            "suggested": record.suggested, "uniqueid": record.uniqueid, "linkedid": record.linkedid,
            "department": record.department,
        }
        attempts = [{
            "call_id": call_id, "seq": seq, "kind": a.kind, "decision": a.decision,
            "municipality": a.municipality, "score": a.score, "transcript": a.transcript,
            "candidates": json.dumps([list(c) for c in a.candidates]), "reason": a.reason,
            "audio": a.audio if final else None,
        } for seq, a in enumerate(record.attempts)]
        return cls(call, attempts, final)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Row":
        data = json.loads(text)
        return cls(data["call"], data["attempts"], data.get("final", True))  # older spools: final rows only


@dataclass(frozen=True)
class StoredCall:
    """A call read back: the record (with `caller` None: it was never stored) and the caller's hash."""
    call_id: str
    caller_hash: str | None
    record: CallRecord
    node: str | None = None  # None: stored before records named their node


@dataclass(frozen=True)
class Purged:
    calls: int
    attempts: int
    transcripts: int
    audio_files: int = 0

    def __str__(self) -> str:
        return (f"removed {self.calls} calls, {self.attempts} attempts ({self.transcripts} with a transcript)"
                f" and {self.audio_files} audio files")


class _Sqlite:
    placeholder = "?"

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Transcripts are personal data: a new file is private from its first byte, whatever the
        # umask, and SQLite gives its -wal and -shm files the database's mode. Someone else's
        # existing file keeps its mode.
        with suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        # isolation_level=None: we open transactions ourselves, with BEGIN IMMEDIATE, so a writer
        # takes the write lock up front instead of failing to upgrade a read lock mid-way.
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
        self.conn.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def transaction(self, migrating: bool = False):
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def cursor(self):
        return self.conn.cursor()

    def close(self) -> None:
        self.conn.close()


# libpq's bounds on a server that stops answering, unless the URL names its own: connecting,
# an idle connection (keepalives: probes after 10 s, 3 lost 5 s apart), and data sent but never
# acknowledged (tcp_user_timeout, ms).
PG_CONNECTION = {"connect_timeout": "5", "keepalives": "1", "keepalives_idle": "10",
                 "keepalives_interval": "5", "keepalives_count": "3", "tcp_user_timeout": "15000"}
# In a write, the server ends a statement that runs (or waits on a lock) longer than this.
# Reads (`report`, `learn`) are not bounded: a year of calls may take longer.
PG_STATEMENT_TIMEOUT_S = 10.0
# The client's own deadline on a transaction: later than the server's timeout, which gives the
# clearer error while the server can still send it; past it the connection is cut, which is
# what ends the wait when nothing comes back at all.
PG_TRANSACTION_DEADLINE_S = PG_STATEMENT_TIMEOUT_S + 5


class _Postgres:
    placeholder = "%s"
    _MIGRATION_LOCK = 140229  # any constant: an advisory lock id for migrations only

    def __init__(self, url: str):
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict, make_conninfo
        except ImportError:
            raise StoreError("records.url is a PostgreSQL URL but psycopg is not installed: "
                             "pip install 'fourteenplus[postgres]'") from None
        self.conn = psycopg.connect(make_conninfo("", **{**PG_CONNECTION, **conninfo_to_dict(url)}), autocommit=True)
        self._cut = False

    @contextmanager
    def transaction(self, migrating: bool = False):
        deadline = threading.Timer(PG_TRANSACTION_DEADLINE_S, self._cut_connection)
        deadline.daemon = True
        deadline.start()
        try:
            with self.conn.transaction():
                cur = self.conn.cursor()
                cur.execute(f"SET LOCAL statement_timeout = {int(PG_STATEMENT_TIMEOUT_S * 1000)}")
                if migrating:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (self._MIGRATION_LOCK,))
                yield cur
        except Exception as exc:
            if self._cut:
                raise StoreError(f"PostgreSQL did not answer within {PG_TRANSACTION_DEADLINE_S:g} s; "
                                 "the connection was cut") from exc
            raise
        finally:
            deadline.cancel()

    def _cut_connection(self) -> None:
        """Past the deadline: shut the socket down under the waiting call, which then fails."""
        self._cut = True
        try:
            with socket.socket(fileno=os.dup(self.conn.pgconn.socket)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except Exception:
            pass  # the connection is closed already: the waiting call has ended anyway

    def cursor(self):
        return self.conn.cursor()

    def close(self) -> None:
        self.conn.close()


class Store:
    def __init__(self, db, migrations=MIGRATIONS):
        self._db = db
        self.migrate(migrations)

    def _sql(self, text: str) -> str:
        return text.replace("?", self._db.placeholder)

    # ---- schema ----

    def migrate(self, migrations=MIGRATIONS) -> list[int]:
        """Apply the migrations this store has not had yet; returns the versions applied."""
        applied = []
        with self._db.transaction(migrating=True) as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                        "description TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)")
            cur.execute("SELECT MAX(version) FROM schema_version")
            current = cur.fetchone()[0] or 0
            known = max((v for v, _, _ in migrations), default=0)
            if current > known:
                raise StoreError(f"the record store has schema version {current}, newer than this "
                                 f"fourteenplus knows ({known}): upgrade fourteenplus")
            for version, description, statements in migrations:
                if version <= current:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute(self._sql("INSERT INTO schema_version VALUES (?, ?, ?)"),
                            (version, description, time.time()))
                applied.append(version)
        return applied

    def version(self) -> int:
        cur = self._db.cursor()
        cur.execute("SELECT MAX(version) FROM schema_version")
        return cur.fetchone()[0] or 0

    # ---- calls ----

    def insert(self, row: Row) -> bool:
        """Store a call; False if nothing changed: a call with its id is already there and the
        row is a provisional one (or a retried write of it). A final row replaces what is there,
        its attempts too, so writing it again is harmless."""
        replace = ", ".join(f"{c} = excluded.{c}" for c in CALL_COLUMNS if c != "call_id")
        with self._db.transaction() as cur:
            cur.execute(self._sql(
                f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES ({', '.join('?' * len(CALL_COLUMNS))}) "
                f"ON CONFLICT (call_id) DO {'UPDATE SET ' + replace if row.final else 'NOTHING'}"),
                # .get: a row spooled by an older fourteenplus has no node, suggestion, uniqueid or linkedid
                [row.call.get(c) for c in CALL_COLUMNS])
            if cur.rowcount == 0:
                return False
            if row.final:
                cur.execute(self._sql("DELETE FROM attempts WHERE call_id = ?"), [row.call["call_id"]])
            if row.attempts:
                cur.executemany(self._sql(
                    f"INSERT INTO attempts ({', '.join(ATTEMPT_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(ATTEMPT_COLUMNS))})"),
                    # .get: a row spooled by an older fourteenplus has no audio
                    [[a.get(c) for c in ATTEMPT_COLUMNS] for a in row.attempts])
        return True

    def calls(self, since: float | None = None, until: float | None = None,
              areas: tuple[str, ...] = (), nodes: tuple[str, ...] = ()) -> list[StoredCall]:
        """Calls started in [since, until), optionally in some area codes or taken by some
        nodes, oldest first."""
        where: list[str] = []
        params: list[object] = []
        if since is not None:
            where.append("c.started_at >= ?")
            params.append(since)
        if until is not None:
            where.append("c.started_at < ?")
            params.append(until)
        if areas:
            where.append(f"c.area_code IN ({', '.join('?' * len(areas))})")
            params.extend(areas)
        if nodes:
            where.append(f"c.node IN ({', '.join('?' * len(nodes))})")
            params.extend(nodes)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        cur = self._db.cursor()
        cur.execute(self._sql(f"SELECT {', '.join('c.' + c for c in CALL_COLUMNS)} FROM calls c {clause} "
                              "ORDER BY c.started_at, c.call_id"), params)
        calls = [dict(zip(CALL_COLUMNS, values)) for values in cur.fetchall()]
        attempts: dict[str, list[Attempt]] = {c["call_id"]: [] for c in calls}
        cur.execute(self._sql(f"SELECT {', '.join('a.' + c for c in ATTEMPT_COLUMNS)} FROM attempts a "
                              f"JOIN calls c ON c.call_id = a.call_id {clause} ORDER BY a.call_id, a.seq"),
                    params)
        for values in cur.fetchall():
            a = dict(zip(ATTEMPT_COLUMNS, values))
            attempts[a["call_id"]].append(Attempt(
                a["kind"], a["decision"], a["municipality"], a["score"], a["transcript"],
                tuple(tuple(c) for c in json.loads(a["candidates"])), a["reason"], a["audio"]))
        return [StoredCall(c["call_id"], c["caller_hash"], CallRecord(
            dialled=c["dialled"], caller=None, area_code=c["area_code"], path=c["path"],
            municipality=c["municipality"], department=c["department"], trunk=c["trunk"], outcome=c["outcome"],
            language=c["language"], abandoned_at=c["abandoned_at"], reason=c["reason"], dial_status=c["dial_status"],
            overflow_status=c["overflow_status"], attempts=attempts[c["call_id"]], suggested=c["suggested"],
            started_at=c["started_at"], timings=json.loads(c["timings"]), call_id=c["call_id"],
            uniqueid=c["uniqueid"], linkedid=c["linkedid"]), c["node"])
            for c in calls]

    def last_chosen(self, caller_hash: str, area_code: str, since: float) -> str | None:
        """The municipality this caller was last put through to from this area since `since`,
        by their own choice (said, confirmed or keyed: not the area's default, which nobody
        chose); None if there is none."""
        cur = self._db.cursor()
        cur.execute(self._sql(
            "SELECT municipality FROM calls WHERE caller_hash = ? AND area_code = ? AND started_at >= ? "
            "AND outcome = ? AND municipality IS NOT NULL AND path IN (?, ?, ?, ?) "
            "ORDER BY started_at DESC LIMIT 1"),
            (caller_hash, area_code, since, Outcome.TRANSFERRED, CallPath.SPOKEN, CallPath.SPOKEN_REPEAT,
             CallPath.CONFIRMED, CallPath.KEYPAD))
        row = cur.fetchone()
        return row[0] if row else None

    def audio_before(self, before: float) -> list[str]:
        """The kept audio of the calls started before `before`: what goes with them when they are purged."""
        cur = self._db.cursor()
        cur.execute(self._sql("SELECT a.audio FROM attempts a JOIN calls c ON c.call_id = a.call_id "
                              "WHERE c.started_at < ? AND a.audio IS NOT NULL"), (before,))
        return [name for (name,) in cur.fetchall()]

    def newest(self) -> float | None:
        """When the most recent call started; None for an empty store."""
        cur = self._db.cursor()
        cur.execute("SELECT MAX(started_at) FROM calls")
        return cur.fetchone()[0]

    def purge(self, before: float) -> Purged:
        """Remove every call (with its attempts and transcripts) started before `before`, in
        batches: each transaction stays well inside a write's time bound, and the writers of
        new calls wait for one batch at most, even when a year is purged at once."""
        calls = attempts = transcripts = 0
        while True:
            with self._db.transaction() as cur:
                cur.execute(self._sql("SELECT call_id FROM calls WHERE started_at < ? LIMIT ?"),
                            (before, PURGE_BATCH))
                batch = [row[0] for row in cur.fetchall()]
                if batch:
                    ids = ", ".join("?" * len(batch))
                    cur.execute(self._sql(
                        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN transcript <> '' THEN 1 ELSE 0 END), 0) "
                        f"FROM attempts WHERE call_id IN ({ids})"), batch)
                    counted = cur.fetchone()
                    cur.execute(self._sql(f"DELETE FROM calls WHERE call_id IN ({ids})"), batch)
                    calls, attempts, transcripts = (calls + cur.rowcount, attempts + int(counted[0]),
                                                    transcripts + int(counted[1]))
            if len(batch) < PURGE_BATCH:
                return Purged(calls, attempts, transcripts)

    # ---- learning reviews ----

    def review(self, proposal_id: str, decision: str, reviewer: str) -> None:
        with self._db.transaction() as cur:
            cur.execute(self._sql(
                "INSERT INTO learn_reviews VALUES (?, ?, ?, ?) ON CONFLICT (proposal_id) DO UPDATE "
                "SET decision = excluded.decision, reviewer = excluded.reviewer, "
                "reviewed_at = excluded.reviewed_at"), (proposal_id, decision, reviewer, time.time()))

    def reviews(self) -> dict[str, str]:
        cur = self._db.cursor()
        cur.execute("SELECT proposal_id, decision FROM learn_reviews")
        return dict(cur.fetchall())

    def close(self) -> None:
        self._db.close()


def open_store(settings: RecordSettings, migrations=MIGRATIONS) -> Store:
    """The store the configuration names, migrated to the current schema."""
    if settings.url and settings.url.startswith(("postgresql://", "postgres://")):
        return Store(_Postgres(settings.url), migrations)
    return Store(_Sqlite(sqlite_path(settings)), migrations)
