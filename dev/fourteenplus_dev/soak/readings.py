"""What the soak reads of the processes under load from /proc (CPU, memory), and how late
the harness's own 20 ms ticks wake (`TickProbe`)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from fourteenplus import sipp

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> dict | None:
    """CPU seconds (own, and of reaped children) and RSS of a process, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return {"cpu_s": (int(fields[11]) + int(fields[12])) / CLK_TCK,
            "children_cpu_s": (int(fields[13]) + int(fields[14])) / CLK_TCK, "rss_mb": round(rss / 1024, 1)}


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy since boot (all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def find_app_pid() -> int | None:
    """The running `fourteenplus run` (make run) when the soak did not start the app itself."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith((b"fourteenplus", b"fourteenplus.cli")) for a in argv) and b"run" in argv:
            return int(entry.name)
    return None


class Sampler:
    """/proc readings of the app, Asterisk, the trunk endpoint and this harness (with its
    reaped sipp callers), at the start, every `every` calls, and at the end of each phase."""

    def __init__(self, every: int):
        self.every = every
        self.samples: list[dict] = []
        self.pids: dict[str, int | None] = {}
        self._lock = threading.Lock()
        self._calls = 0
        self._t0 = time.monotonic()
        self.started_at = time.time()

    def take(self, phase: str) -> dict:
        sample = {"t_s": round(time.monotonic() - self._t0, 1), "calls": self._calls, "phase": phase,
                  "machine_busy_s": round(machine_busy_s(), 2)}
        for name, pid in self.pids.items():
            reading = proc_stat(pid) if pid else None
            if reading:
                sample[name] = {"pid": pid, **reading}
        with self._lock:
            self.samples.append(sample)
        return sample

    def call_done(self, phase: str) -> None:
        with self._lock:
            self._calls += 1
            due = self._calls % self.every == 0
        if due:
            self.take(phase)


def cpu_percent(first: dict, last: dict) -> dict:
    """CPU use between two samples, in % of one core (200 % = both cores of this machine)."""
    wall = last["t_s"] - first["t_s"]
    if wall <= 0:
        return {}

    def used(name: str, children: bool = False) -> float | None:
        a, b = first.get(name), last.get(name)
        if not a or not b or a["pid"] != b["pid"]:
            return None
        return b["cpu_s"] - a["cpu_s"] + ((b["children_cpu_s"] - a["children_cpu_s"]) if children else 0)

    ours = {"app": used("app"), "asterisk": used("asterisk"), "trunk": used("trunk"),
            "harness": used("harness", children=True)}
    out = {name: round(100 * s / wall, 1) for name, s in ours.items() if s is not None}
    busy = last["machine_busy_s"] - first["machine_busy_s"]
    out["machine"] = round(100 * busy / wall, 1)
    out["others"] = round(100 * (busy - sum(s for s in ours.values() if s)) / wall, 1)
    return out


class TickProbe:
    """A thread that ticks every 20 ms exactly like the callers' media threads (sipp._Media)
    and records how late it wakes: the harness's own scheduling under load (GIL, CPU)."""

    def __init__(self):
        self.late_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-tick-probe", daemon=True)

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            next_tick += sipp.FRAME_S
            time.sleep(max(0.0, next_tick - time.monotonic()))
            self.late_ms.append((time.monotonic() - next_tick) * 1000)

    def __enter__(self) -> TickProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(1)


def memory_by_process(app_samples: list[dict]) -> list[dict]:
    """RSS of each app process (the soak restarts it for the confirmations): first, last, peak."""
    out: dict[int, dict] = {}
    for s in app_samples:
        entry = out.setdefault(s["pid"], {"pid": s["pid"], "rss_start_mb": s["rss_mb"], "samples": 0, "peak_mb": 0.0})
        entry["rss_end_mb"] = s["rss_mb"]
        entry["peak_mb"] = max(entry["peak_mb"], s["rss_mb"])
        entry["samples"] += 1
    return list(out.values())
