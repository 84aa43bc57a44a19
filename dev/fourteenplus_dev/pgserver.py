"""A private PostgreSQL server: its own data directory, started with pg_ctl, stopped by pid.

Used by the store tests (when no FOURTEENPLUS_TEST_POSTGRES_URL is given) and by
`fourteenplus cluster`, whose two nodes write their records into it. No system service is
touched: initdb makes a cluster in `directory`, the server listens on a unix socket in that
directory (and, with `host`, on that loopback address too), trusting local connections
because nobody else can reach the socket (mode 0700).

initdb and the server refuse to run as root; as root they run as the `postgres` user that
Debian's package creates, through runuser.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
SERVICE_USER = "postgres"
SUPERUSER = "fourteenplus"


class PostgresError(RuntimeError):
    pass


def available() -> str | None:
    """None when a private server can be started here, else why not."""
    if not (BIN / "initdb").exists():
        return f"PostgreSQL 15 is not installed ({BIN}/initdb missing): apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return f"running as root, and there is no {SERVICE_USER} user to run PostgreSQL as"
    return None


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    directory: Path
    host: str | None = None   # a loopback address to listen on besides the socket
    port: int = 0             # 0: a free one

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        """A URL for this server: over TCP when it has a host, else over its socket."""
        if self.host:
            return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"
        return f"postgresql://{SUPERUSER}@/{database}?host={self.directory}&port={self.port}"

    def _as_owner(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", SERVICE_USER, "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, **kwargs)

    def start(self, timeout: float = 60.0) -> "Server":
        reason = available()
        if reason:
            raise PostgresError(reason)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory.chmod(0o700)
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SERVICE_USER)
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self.port = self.port or _free_port(self.host or "127.0.0.1")
        if not (self.data / "PG_VERSION").exists():
            done = self._as_owner(str(BIN / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                                  "-E", "UTF8", "--locale=C", timeout=120)
            if done.returncode != 0:
                raise PostgresError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        options = (f"-k {self.directory} -p {self.port} -c listen_addresses='{self.host or ''}' "
                   "-c fsync=off -c shared_buffers=16MB -c max_connections=40")
        done = self._as_owner(str(BIN / "pg_ctl"), "start", "-w", "-t", str(int(timeout)), "-D", str(self.data),
                              "-l", str(self.log), "-o", options, timeout=timeout + 10)
        if done.returncode != 0:
            raise PostgresError(f"pg_ctl start failed: {done.stderr.strip() or done.stdout.strip()}; see {self.log}")
        return self

    def pid(self) -> int | None:
        """The postmaster's pid while it runs (the first line of postmaster.pid)."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown by pid (SIGINT: sessions are ended, the data stays consistent)."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while self.pid() == pid and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.pid() == pid:
            os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.remove()
