"""The app as a child process of the harness: the integration tests, the soak and the
loopback cluster start `fourteenplus run` (or `agi`) this way; an operator's systemd does it
in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import fourteenplus
from fourteenplus.sipp import stop_process

# The directory the product package is imported from (a checkout's root): a child process
# given it as PYTHONPATH runs this same code.
REPO = Path(fourteenplus.__file__).resolve().parent.parent

# The app loads the whisper model before it says "ready".
APP_READY_TIMEOUT_S = 180


class AppProcess:
    """`fourteenplus run` (or `agi`) `--config FILE -v [options]` as our child, started and
    stopped by its pid; its log goes to `log`. `nice` > 0 runs it below Asterisk's CPU
    priority (an experiment); `env` adds to the environment (a cluster node's name, ARI,
    state directory)."""

    def __init__(self, config: Path, log: Path, command: str = "run", nice: int = 0,
                 ready_timeout_s: float = APP_READY_TIMEOUT_S, env: dict[str, str] | None = None,
                 options: tuple[str, ...] = ()):
        self.config, self.log, self.command, self.nice = config, log, command, nice
        self.ready_timeout_s = ready_timeout_s
        self.env, self.options = dict(env or {}), options
        self.process: subprocess.Popen | None = None

    def start(self, config: Path | None = None) -> None:
        """Returns once the app prints `ready`. Raises RuntimeError, the child stopped, when it
        does not become ready in time."""
        self.config = config or self.config
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO)}
        nice = self.nice
        with open(self.log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "fourteenplus.cli", self.command, "--config", str(self.config), "-v",
                 *self.options],
                stdout=subprocess.PIPE, stderr=out, stdin=subprocess.DEVNULL, env=env, cwd=REPO,
                preexec_fn=(lambda: os.nice(nice)) if nice else None)
        assert process.stdout is not None  # stdout=PIPE
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.strip() == b"ready":
                self.process = process
                return
            if not line and process.poll() is not None:
                break
        stop_process(process)
        process.stdout.close()
        raise RuntimeError(f"fourteenplus {self.command} did not become ready; see {self.log}")

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"fourteenplus {self.command} is not running")
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM (calls in the app go to the dialplan's fallback), SIGKILL if it lingers."""
        if self.process:
            stop_process(self.process)
            self.closed()

    def closed(self) -> None:
        """The child has exited (stopped here, or killed or signalled by a test): let it go."""
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    @contextmanager
    def stopped(self):
        """The app is not running inside the block (and running again after it)."""
        config = self.config
        self.stop()
        try:
            yield
        finally:
            self.start(config)

    @contextmanager
    def running(self, config: Path):
        """The app runs with another configuration inside the block."""
        with self.stopped():
            self.start(config)
            try:
                yield
            finally:
                self.stop()
