"""`fourteenplus soak`: a load benchmark over real SIP calls (issue 8, "Load").

Hundreds of SIPp callers at once, mixed as callers are (`MIX`): areas with one municipality,
spoken names, keys, confirmations, numbers that are not served, and callers hanging up at
every step. Every call has an expected end (a municipality's trunk, a spoken message, or
the caller's own hang-up); a call that ends anywhere else is lost, and listed. One exception:
a caller put through to the area's default after hearing where (the announcement that comes
right before its INVITE) ended somewhere deliberate, if not where they asked: counted apart
("to the default"), not lost; reached without the announcement, it is lost.

The run, in order: a few sequential spoken calls (the idle latency), concurrency steps (the
ceiling: where p95 end of speech → INVITE passes twice idle, or calls are lost), then the
soak itself. Confirmations need a configuration in which the app asks "Bedoelt u …?", so
with --start the soak ends with a second block under such a configuration (the app
restarted with it). Throughout, the app's, Asterisk's and this harness's CPU and memory are
read from /proc every --sample-every calls.

With --start it starts Asterisk (the integration tests' configuration: SIPp trunks that
answer, refuse and never answer), the SIPp trunk endpoint and the app itself, and stops them
all by pid at the end; without it, it calls the running `make run` like `bench calls`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fourteenplus import asterisk, numberplan, sipp
from fourteenplus.vocabulary import CallPath, Prompt, Timing
from ..app import REPO, AppProcess
from ..benchfile import write_block
from fourteenplus.records import CallRecord
from fourteenplus.sipp import PressKeys, Say, Silence, WaitPrompt
from ..stats import spread
from fourteenplus.commands._common import add_config_option, configured
from .bench import machine

TEST_SERVICE = REPO / "tests" / "integration" / "service.yaml"
READY_TIMEOUT_S = 180  # the app loads the whisper model before it says "ready"
RECORD_GRACE_S = 3  # the app writes a record once the dial result is in, just after the call
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Phases: the configuration the app runs with. "sure" transfers a clearly spoken name at
# once; "unsure" (accept 1.0, as the integration tests' unsure_yaml) asks "Bedoelt u …?".
SURE, UNSURE = "sure", "unsure"


@dataclass(frozen=True)
class Scenario:
    """One kind of caller and where the call must end.

    `ends`: "transfer" (at `to`'s trunk, and its overflow when the trunk refuses), "message"
    (no trunk; Asterisk plays why and hangs up) or "hung up" (the caller, before any trunk
    answered; `rings` names a municipality whose trunk was ringing then).
    `latency`: "voice" or "reply" when end of speech → INVITE of this call counts toward that
    figure (the name, when the app's record says it was put through on it; or the "ja" to
    "Bedoelt u …?").
    Timings of the hang-ups are from the answer and fit the test configuration's prompts:
    the question is heard until 1.6 s (1.9 s with its quiet tail), "again" after 3 s of
    silence (4.9–8.3 s), the 0229 menu 10.3 s, a confirmation 4.6 s. The caller speaks 0.8 s
    after the last loud frame of a prompt (~2.4 s); "Koggenland" is loud for 0.6 s, so its end
    of speech is at ~3.0 s (how long its INVITE takes after that is measured: bench/soak.md)."""
    name: str
    number: str
    weight: int
    ends: str = "transfer"
    to: str | None = None
    script: tuple = ()
    hangup_after_ms: int = 0
    rings: str | None = None
    latency: str | None = None
    phases: tuple[str, ...] = (SURE, UNSURE)


IF_ASKED = (WaitPrompt(), Say("ja"))

MIX: tuple[Scenario, ...] = (
    # areas with one municipality: no question
    Scenario("direct", "14020", 12, to="Amsterdam"),
    Scenario("direct, trunk busy → overflow", "14010", 4, to="Rotterdam"),
    Scenario("direct, trunk 503 → overflow", "140111", 4, to="Schouwen-Duiveland"),
    # a name, alone or in a sentence (0229: Hoorn, Medemblik, Drechterland, Opmeer, Koggenland);
    # asked "Bedoelt u …?" instead of being put through (the recogniser less sure under load),
    # the caller says ja, as a caller would: the call still ends at the right trunk, and the
    # app's record says it was confirmed, which the figures count apart
    Scenario("name", "140229", 8, to="Koggenland", script=(WaitPrompt(), Say("Koggenland"), *IF_ASKED),
             latency="voice", phases=(SURE,)),
    Scenario("name", "140229", 6, to="Medemblik", script=(WaitPrompt(), Say("Medemblik"), *IF_ASKED),
             latency="voice", phases=(SURE,)),
    Scenario("name", "140229", 6, to="Drechterland", script=(WaitPrompt(), Say("Drechterland"), *IF_ASKED),
             latency="voice", phases=(SURE,)),
    Scenario("name in a sentence", "140229", 6, to="Hoorn",
             script=(WaitPrompt(), Say("ik wil graag de gemeente Hoorn bellen"), *IF_ASKED), latency="voice",
             phases=(SURE,)),
    # keys: any key at the question opens the menu (Hoorn 1, Medemblik 2, Drechterland 3, Opmeer 4)
    Scenario("key during the menu", "140229", 6, to="Drechterland",
             script=(WaitPrompt(), PressKeys("0"), Silence(1000), PressKeys("3"))),
    Scenario("key after the menu", "140229", 3, to="Opmeer",
             script=(WaitPrompt(), PressKeys("0"), WaitPrompt(), PressKeys("4"))),
    Scenario("silent twice, then a key", "140229", 2, to="Medemblik",
             script=(WaitPrompt(), WaitPrompt(), WaitPrompt(), PressKeys("2"))),
    # confirmations ("Bedoelt u Koggenland?"), by voice and by key 1
    Scenario("name, then ja", "140229", 8, to="Koggenland",
             script=(WaitPrompt(), Say("Koggenland"), WaitPrompt(), Say("ja")), latency="reply", phases=(UNSURE,)),
    Scenario("name in a sentence, then ja", "140229", 5, to="Hoorn",
             script=(WaitPrompt(), Say("ik wil graag de gemeente Hoorn bellen"), WaitPrompt(), Say("ja")),
             latency="reply", phases=(UNSURE,)),
    Scenario("name, then key 1", "140229", 6, to="Drechterland",
             script=(WaitPrompt(), Say("Drechterland"), WaitPrompt(), PressKeys("1")), phases=(UNSURE,)),
    # numbers that reach no municipality: the caller hears why
    Scenario("unknown area", "140000", 4, ends="message"),
    Scenario("area not served", "140113", 2, ends="message"),
    # hang-ups at every step
    Scenario("hangs up during the question", "140229", 3, ends="hung up", hangup_after_ms=800),
    Scenario("hangs up while speaking", "140229", 2, ends="hung up", hangup_after_ms=4000,
             script=(WaitPrompt(), Say("ik wil graag de gemeente Koggenland bellen")), phases=(SURE,)),
    # 0.3 s after the name: the app is waiting for quiet or recognising, before the INVITE
    Scenario("hangs up right after the name", "140229", 2, ends="hung up", hangup_after_ms=3300,
             script=(WaitPrompt(), Say("Koggenland")), phases=(SURE,)),
    Scenario("hangs up during 'again'", "140229", 2, ends="hung up", hangup_after_ms=6500),
    Scenario("hangs up during the menu", "140229", 2, ends="hung up", hangup_after_ms=8000,
             script=(WaitPrompt(), PressKeys("0"))),
    Scenario("hangs up during 'Bedoelt u'", "140229", 4, ends="hung up", hangup_after_ms=6500,
             script=(WaitPrompt(), Say("Koggenland")), phases=(UNSURE,)),
    Scenario("hangs up during the message", "140000", 1, ends="hung up", hangup_after_ms=2000),
    Scenario("hangs up while the trunk rings", "140114", 2, ends="hung up", hangup_after_ms=3000, rings="Hulst"),
)


# ---- what a call must do ----

@dataclass(frozen=True)
class Expected:
    users: tuple[str, ...]   # the trunk users the trunk endpoint must see, in order
    ended: str               # CallResult.ended
    municipality: str | None = None
    default: Expected | None = None  # the end at the area's default, announced (a caller asked, not heard)

    def describe(self) -> str:
        where = f"{self.municipality} via {' then '.join(self.users)}" if self.municipality else (
            f"no trunk answered ({', '.join(self.users) or 'none dialled'})")
        return f"{where}; {self.ended}"


def trunk_user(dial: str) -> str:
    """PJSIP/busy-rotterdam@fourteenplus-trunks → busy-rotterdam (the trunk endpoint's Request-URI user)."""
    return dial.split("/", 1)[1].split("@", 1)[0]


def _dialled(service, municipality: str) -> tuple[str, ...]:
    """The trunk, then its overflow if the trunk endpoint refuses that user."""
    connection = service.municipality(municipality)
    first = trunk_user(connection.trunk)
    if first.startswith(sipp.REFUSING) and connection.overflow:
        return first, trunk_user(connection.overflow)
    return (first,)


def expect(scenario: Scenario, service) -> Expected | None:
    """Where the call must end under this configuration; None when the configuration cannot
    give this scenario (its municipality not connected, or its "unserved" area served)."""
    needs = scenario.to or scenario.rings
    if needs and needs not in service.connections:
        return None
    if scenario.ends == "message":
        try:
            code = numberplan.parse(scenario.number, service.directory.areas)
        except numberplan.NumberRejected:
            return Expected((), "Asterisk hung up")
        return None if service.plan(code).connected else Expected((), "Asterisk hung up")
    if scenario.ends == "hung up":
        return Expected(_dialled(service, scenario.rings) if scenario.rings else (), "caller hung up")
    if scenario.to is None:
        raise ValueError(f"scenario {scenario.name} ends {scenario.ends!r} but names no municipality")
    plan = service.plan(numberplan.parse(scenario.number, service.directory.areas))
    default = plan.default if len(plan.connected) > 1 and plan.default != scenario.to else None
    return Expected(_dialled(service, scenario.to), "Asterisk hung up", scenario.to,
                    Expected(_dialled(service, default), "Asterisk hung up", default) if default else None)


def mismatch(expected: Expected, result: sipp.CallResult) -> str | None:
    """Why the call did not end where it had to, or None."""
    users = tuple(invite.user for invite in result.invites)
    if users != expected.users or result.ended != expected.ended:
        return f"got {result.describe()} (trunks {', '.join(users) or 'none'}; {result.ended})"
    if expected.municipality and (result.reached is None or result.reached.municipality != expected.municipality):
        return f"got {result.describe()}"
    if not expected.users and expected.ended == "Asterisk hung up" and result.first_audio_at is None:
        return "hung up without a word: the caller never heard why"
    return None


# The default's announcement ends right before its INVITE (the transfer follows the prompt);
# a default reached without a word came a whole menu timeout (5 s here) after the menu.
ANNOUNCED_WITHIN_S = 2.0


def announced(result: sipp.CallResult) -> bool:
    """Whether the caller heard a prompt end just before the first INVITE."""
    at = result.invites[0].at if result.invites else None
    return at is not None and any(at - ANNOUNCED_WITHIN_S <= end <= at for _, end in result.loud)


def judge(expected: Expected, result: sipp.CallResult) -> tuple[str | None, bool]:
    """(why the call is lost, or None; whether it went to the area's default, announced)."""
    problem = mismatch(expected, result)
    if problem and expected.default and mismatch(expected.default, result) is None:
        if announced(result):
            return None, True
        problem += ": the area's default, reached without a word"
    return problem, False


def plan(mix: tuple[Scenario, ...], phase: str, calls: int, seed: int = 14) -> list[Scenario]:
    """`calls` scenarios of this phase in the mix's proportions (largest remainder), shuffled
    with a fixed seed so two runs place the same calls."""
    eligible = [s for s in mix if phase in s.phases]
    total = sum(s.weight for s in eligible)
    shares = [calls * s.weight / total for s in eligible]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(eligible)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in by_remainder[:calls - sum(counts)]:
        counts[i] += 1
    out = [s for s, n in zip(eligible, counts) for _ in range(n)]
    random.Random(seed).shuffle(out)
    return out


def describe_script(scenario: Scenario) -> str:
    steps = []
    for step in scenario.script:
        if isinstance(step, WaitPrompt):
            steps.append("wait for the prompt")
        elif isinstance(step, Say):
            steps.append(f"say {step.text!r}")
        elif isinstance(step, PressKeys):
            steps.append(f"key {step.digits}")
        elif isinstance(step, Silence):
            steps.append(f"{step.ms} ms silence")
    if scenario.hangup_after_ms:
        steps.append(f"hang up {scenario.hangup_after_ms} ms after the answer")
    return ", ".join(steps) or "nothing"


# ---- figures ----

def concurrency(intervals: list[tuple[float, float]]) -> tuple[int, float]:
    """(peak, time-weighted mean) number of calls up at once, from (answered, ended) pairs."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    peak = up = 0
    area = 0.0
    last = events[0][0] if events else 0.0
    for at, step in events:
        area += up * (at - last)
        up += step
        peak = max(peak, up)
        last = at
    span = (events[-1][0] - events[0][0]) if events else 0.0
    return peak, round(area / span, 1) if span else 0.0


def ceiling(steps: list[dict], idle_p95: float | None) -> dict:
    """The first step where p95 passes twice idle, a call is lost or callers are sent to the
    keypad because the recogniser cannot keep up; the last step that held."""
    held, broke = None, None
    for step in steps:
        p95 = step["latency"]["voice"].get("p95")
        slow = idle_p95 is not None and p95 is not None and p95 > 2 * idle_p95
        busy = step.get("busy", 0)
        if slow or step["lost"] or busy:
            broke = {"concurrency": step["concurrency"], "p95_ms": p95, "lost": step["lost"], "busy": busy,
                     "why": " and ".join(w for w, bad in (("p95 > 2× idle", slow), ("calls lost", step["lost"]),
                                                          ("callers sent to the keypad (busy)", busy)) if bad)}
            break
        held = step["concurrency"]
    return {"steps": [s["concurrency"] for s in steps], "limit_p95_ms": round(2 * idle_p95, 1) if idle_p95 else None,
            "held_up_to": held, "broke_at": broke}


# ---- /proc ----

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


# ---- running calls ----

@dataclass
class Outcome:
    index: int
    scenario: Scenario
    result: sipp.CallResult | None
    problem: str | None  # why the call is lost, None when it ended where expected
    record: CallRecord | None = None  # the app's record of this call, once read back (attach_records)
    defaulted: bool = False  # put through to the area's default after hearing so (`judge`)

    def timed(self, kind: str) -> bool:
        """Counts toward the `kind` latency: ended where expected, and for a name, put
        through on the name itself (not after a confirmation or the menu)."""
        return self.latency_ms(kind) is not None

    def latency_ms(self, kind: str) -> float | None:
        """End of speech → INVITE, as the caller measured it, when the call counts toward `kind`."""
        if self.scenario.latency != kind or self.problem or self.result is None:
            return None
        if kind == "voice" and getattr(self.record, "path", None) not in (CallPath.SPOKEN, CallPath.SPOKEN_REPEAT):
            return None
        return self.result.speech_end_to_invite_ms


def app_view(record) -> str:
    """What the app's record says happened: its path and every attempt."""
    if record is None:
        return "no record of the call in the app's store"
    attempts = "; ".join(" ".join(str(x) for x in (a.kind, a.decision, a.municipality, a.reason,
                                                    repr(a.transcript) if a.transcript else None) if x)
                         for a in record.attempts)
    return f"path {record.path}, outcome {record.outcome}" + (f", attempts: {attempts}" if attempts else "")


def attach_records(outcomes: list[Outcome], settings, since: float) -> None:
    """Match the app's stored records to the calls by the caller's keyed hash (the store keeps
    no number)."""
    from fourteenplus.records import CallerHasher, open_store

    hasher = CallerHasher.from_state()
    store = open_store(settings)
    try:
        stored = {c.caller_hash: c.record for c in store.calls(since=since)}
    finally:
        store.close()
    for o in outcomes:
        o.record = stored.get(hasher.hash(o.result.caller)) if o.result else None


@dataclass
class Phase:
    name: str
    config: str
    concurrency: int
    outcomes: list[Outcome] = field(default_factory=list)
    tick_late_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu: dict = field(default_factory=dict)

    def figures(self) -> dict:
        lost = [o for o in self.outcomes if o.problem]
        defaulted = [o for o in self.outcomes if o.defaulted]
        answered = [(o.result.answered_at, o.result.ended_at) for o in self.outcomes
                    if o.result and o.result.answered_at]
        peak, mean = concurrency(answered)
        latency = {kind: spread([ms for o in self.outcomes if (ms := o.latency_ms(kind)) is not None])
                   for kind in ("voice", "reply")}
        voice = [o for o in self.outcomes if o.scenario.latency == "voice"]
        ended = Timing.SPEECH_END_TO_TRANSFER
        recognised = [o.record.timings[ended] for o in self.outcomes
                      if o.timed("voice") and o.record is not None and ended in o.record.timings]
        return {"phase": self.name, "config": self.config, "concurrency": self.concurrency,
                "calls": len(self.outcomes), "lost": len(lost), "defaulted": len(defaulted),
                # sent to the keypad menu at once: the recogniser could not keep up (admission)
                "busy": sum(o.record is not None and any(a.reason == Prompt.BUSY for a in o.record.attempts)
                            for o in self.outcomes),
                "peak_concurrency": peak,
                "mean_concurrency": mean, "wall_s": round(self.wall_s, 1),
                "calls_per_minute": round(60 * len(self.outcomes) / self.wall_s, 1) if self.wall_s else None,
                "latency": latency,
                # the app's own clock, for the timed names: its endpointer's end of the utterance
                # (after ~0.5 s of quiet) → the transfer: recognition, with any wait for the worker
                "app_utterance_to_transfer_ms": spread(recognised),
                "names_confirmed": sum(getattr(o.record, "path", None) == CallPath.CONFIRMED for o in voice),
                "names": len(voice),
                "records_found": sum(o.record is not None for o in self.outcomes),
                "answer_to_first_audio_ms": spread(
                    [o.result.answer_to_audio_ms for o in self.outcomes if o.result and o.result.answer_to_audio_ms]),
                "tick_late_ms": spread(self.tick_late_ms), "cpu_percent": self.cpu,
                "lost_calls": [{"call": o.index, "scenario": o.scenario.name, "number": o.scenario.number,
                                "script": describe_script(o.scenario), "problem": o.problem,
                                "app": app_view(o.record)} for o in lost],
                "defaulted_calls": [{"call": o.index, "scenario": o.scenario.name, "number": o.scenario.number,
                                     "script": describe_script(o.scenario), "app": app_view(o.record)}
                                    for o in defaulted]}


class Runner:
    """Places the phases' calls through one trunk endpoint; keeps the logs of lost calls."""

    def __init__(self, trunk: sipp.Trunk, sampler: Sampler, workdir: Path, stagger_s: float = 0.25):
        self.trunk, self.sampler, self.workdir, self.stagger_s = trunk, sampler, workdir, stagger_s
        self._numbers = iter(range(1, 10**9))
        self._lock = threading.Lock()

    def run(self, phase: Phase, scenarios: list[Scenario], service) -> Phase:
        queue = list(scenarios)
        first = self.sampler.take(phase.name)
        started = time.monotonic()

        def worker(k: int) -> None:
            time.sleep(k * self.stagger_s)  # no burst of simultaneous INVITEs at the start
            while True:
                with self._lock:
                    if not queue:
                        return
                    scenario, index = queue.pop(0), next(self._numbers)
                phase.outcomes.append(self._one(index, scenario, service))
                self.sampler.call_done(phase.name)

        with TickProbe() as probe:
            workers = [threading.Thread(target=worker, args=(k,), name=f"soak-{k}")
                       for k in range(phase.concurrency)]
            for w in workers:
                w.start()
            try:
                for w in workers:
                    w.join()
            except BaseException:  # Ctrl-C: the callers finish the call in hand and place no more
                with self._lock:
                    queue.clear()
                raise
        phase.wall_s = time.monotonic() - started
        phase.tick_late_ms = probe.late_ms
        phase.cpu = cpu_percent(first, self.sampler.take(phase.name))
        time.sleep(RECORD_GRACE_S)
        attach_records(phase.outcomes, service.records, self.sampler.started_at)
        f = phase.figures()
        print(f"{phase.name}: {f['calls']} calls at {phase.concurrency}, {f['lost']} lost, "
              f"{f['defaulted']} to the default (announced), {f['busy']} to the keypad (busy), "
              f"voice p50/p95 {_ms(f['latency']['voice'])} ms, {phase.wall_s:.0f} s", file=sys.stderr, flush=True)
        return phase

    def _one(self, index: int, scenario: Scenario, service) -> Outcome:
        expected = expect(scenario, service)
        if expected is None:  # `plan` places only what the configuration can give
            raise ValueError(f"scenario {scenario.name} cannot happen under {service.source}")
        work = self.workdir / f"call-{index:05d}"
        try:
            result = sipp.place_call(scenario.number, list(scenario.script), self.trunk,
                                     hangup_after_ms=scenario.hangup_after_ms, workdir=work)
            problem, defaulted = judge(expected, result)
        except Exception as exc:  # a harness failure is reported as this call's, the soak goes on
            result, problem, defaulted = None, f"the harness failed: {exc!r}", False
        if problem:
            problem += f" (expected {expected.describe()}; logs in {work})"
        else:
            shutil.rmtree(work, ignore_errors=True)
        return Outcome(index, scenario, result, problem, defaulted=defaulted)


# ---- the command ----

def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--start", action="store_true",
                        help="start Asterisk, the trunk endpoint and the app here (the integration tests' "
                             "configuration), and stop them at the end; without it: the running `make run`")
    parser.add_argument("--calls", type=int, default=1000, help="soak calls (default 1000)")
    parser.add_argument("--concurrency", type=int, default=20, help="calls at once during the soak (default 20)")
    parser.add_argument("--steps", default="5,10,20,30,40",
                        help="concurrency steps for the ceiling, comma-separated, run until one breaks it "
                             "('' for none; default 5,10,20,30,40)")
    parser.add_argument("--step-rounds", type=int, default=6,
                        help="calls per step: this many per caller at once, so the step is steady, not "
                             "its ramp (default 6)")
    parser.add_argument("--idle-calls", type=int, default=8, help="sequential spoken calls for the idle figure")
    parser.add_argument("--unsure-share", type=float, default=0.25,
                        help="share of the soak placed under the confirming configuration (with --start)")
    parser.add_argument("--app-nice", type=int, default=0, metavar="N",
                        help="with --start: run the app at nice N, below Asterisk's media threads (an experiment)")
    parser.add_argument("--sample-every", type=int, default=50, metavar="N", help="read CPU and memory every N calls")
    parser.add_argument("--report", type=Path, help="write the figures into this markdown file, between the soak markers")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def main(args) -> int:
    steps = [int(s) for s in args.steps.split(",") if s.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="fourteenplus-soak-"))
    try:
        figures = run_started(args, steps, workdir) if args.start else run_against_running(args, steps, workdir)
    except (RuntimeError, asterisk.AsteriskError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if figures is None:
        return 1
    if args.report:
        write_report(args.report, figures)
    print(json.dumps(figures, indent=2, ensure_ascii=False) if args.json else summary(figures))
    lost = figures["totals"]["lost"]
    if lost == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if lost else 0


def run_against_running(args, steps: list[int], workdir: Path) -> dict | None:
    loaded = configured(args)
    if loaded is None:
        return None
    service = loaded[0]
    phase = UNSURE if service.thresholds.accept >= 1.0 else SURE
    code = code_version()  # now: the checkout is shared, and others commit while the soak runs
    sampler = Sampler(args.sample_every)
    sampler.pids = {"app": find_app_pid(), "asterisk": asterisk.running_pid(), "harness": os.getpid()}
    with sipp.Trunk(workdir / "trunk") as trunk:
        sampler.pids["trunk"] = trunk.pid
        runner = Runner(trunk, sampler, workdir)
        phases = _phases(runner, service, phase, args, steps, args.calls)
    return assemble(phases, sampler, str(service.source), code, service)


def run_started(args, steps: list[int], workdir: Path) -> dict:
    from fourteenplus.config import load_service

    if asterisk.running_pid():
        raise RuntimeError("an Asterisk started by fourteenplus is already running; stop it first "
                           "(fourteenplus asterisk stop), or run without --start to use it")
    sure, unsure = soak_configs(workdir)
    sure_service, unsure_service = load_service(sure), load_service(unsure)
    code = code_version()  # now: the checkout is shared, and others commit while the soak runs
    sampler = Sampler(args.sample_every)
    asterisk.build()
    asterisk.install(sure_service, log=lambda _: None)
    asterisk.start(log=lambda _: None)
    app = None
    try:
        with sipp.Trunk(workdir / "trunk") as trunk:
            sampler.pids = {"asterisk": asterisk.running_pid(), "trunk": trunk.pid, "harness": os.getpid()}
            runner = Runner(trunk, sampler, workdir)
            app = AppProcess(sure, workdir / "app-sure.log", nice=args.app_nice)
            app.start()
            sampler.pids["app"] = app.pid
            sure_calls = round(args.calls * (1 - args.unsure_share))
            phases = _phases(runner, sure_service, SURE, args, steps, sure_calls)
            if args.calls > sure_calls:  # --unsure-share 0: the steps or a soak without confirmations
                app.stop()
                app = AppProcess(unsure, workdir / "app-unsure.log", nice=args.app_nice)
                app.start()
                sampler.pids["app"] = app.pid
                phases += _phases(runner, unsure_service, UNSURE, args, [], args.calls - sure_calls)
    finally:
        if app:
            app.stop()  # SIGTERM: the app writes the records it still holds
        asterisk.stop()
    # again, now that both apps have written everything they held when stopped
    attach_records([o for p in phases for o in p.outcomes], sure_service.records, sampler.started_at)
    return assemble(phases, sampler, f"{TEST_SERVICE.relative_to(REPO)} (and its unsure variant)", code,
                    sure_service)


def soak_configs(workdir: Path) -> tuple[Path, Path]:
    """The integration tests' configuration with the records kept in the soak's workdir, and
    the variant where every name is confirmed (as tests/integration/conftest.py's unsure_yaml)."""
    records = f"\nrecords:\n  path: {workdir / 'records.db'}\n"
    sure = workdir / "sure.yaml"
    sure.write_text(TEST_SERVICE.read_text() + records)
    text = re.sub(r"accept: [0-9.]+", "accept: 1.0", sure.read_text())
    unsure = workdir / "unsure.yaml"
    unsure.write_text(re.sub(r"confirm: [0-9.]+", "confirm: 0.3", text))
    return sure, unsure


def _phases(runner: Runner, service, config: str, args, steps: list[int], calls: int) -> list[Phase]:
    """Idle, then the steps, then the soak, all under one configuration of the app."""
    mix = tuple(s for s in MIX if expect(s, service) is not None)
    idle_kind = "voice" if config == SURE else "reply"
    idle = [s for s in plan(mix, config, 100) if s.latency == idle_kind][:args.idle_calls]
    phases = [runner.run(Phase(f"idle ({config})", config, 1), idle, service)]
    idle_p95 = phases[0].figures()["latency"]["voice"].get("p95")
    for c in steps:
        phases.append(runner.run(Phase(f"step {c}", config, c), plan(mix, config, args.step_rounds * c, seed=c), service))
        if ceiling([p.figures() for p in phases[1:]], idle_p95)["broke_at"]:
            break  # the ceiling is found: higher steps would only take longer to say so
    if calls:
        phases.append(runner.run(Phase(f"soak ({config})", config, args.concurrency), plan(mix, config, calls), service))
    return phases


def assemble(phases: list[Phase], sampler: Sampler, config: str, code: str, service) -> dict:
    figures = [p.figures() for p in phases]
    idle = {f["config"]: f["latency"] for f in figures if f["phase"].startswith("idle")}
    soaks = [f for f in figures if f["phase"].startswith("soak")]
    steps = [f for f in figures if f["phase"].startswith("step")]
    idle_voice = idle.get(SURE, {}).get("voice", {}).get("p95")
    apps = [s["app"] for s in sampler.samples if "app" in s]
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "configuration": config,
        "code": code,
        "command": "fourteenplus soak " + " ".join(sys.argv[2:]),
        "totals": {"calls": sum(f["calls"] for f in figures), "lost": sum(f["lost"] for f in figures),
                   "soak_calls": sum(f["calls"] for f in soaks), "soak_lost": sum(f["lost"] for f in soaks),
                   "peak_concurrency": max((f["peak_concurrency"] for f in figures), default=0)},
        "idle": idle,
        "ceiling": ceiling(steps, idle_voice),
        "phases": figures,
        "mix": [{"scenario": s.name, "number": s.number, "script": describe_script(s),
                 "expected": expected.describe(), "weight": s.weight, "phases": list(s.phases)}
                for s in MIX if (expected := expect(s, service)) is not None],
        "app_memory": memory_by_process(apps),
        "samples": sampler.samples,
    }


def code_version() -> str:
    """The commit measured, and whether the working tree (shared with others' work) differed."""
    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "fourteenplus", "dev")
    return git("rev-parse", "--short", "HEAD") + (" with uncommitted changes in " + ", ".join(
        sorted({line.split(maxsplit=1)[1] for line in dirty.splitlines()})) if dirty else "")


def memory_by_process(app_samples: list[dict]) -> list[dict]:
    """RSS of each app process (the soak restarts it for the confirmations): first, last, peak."""
    out: dict[int, dict] = {}
    for s in app_samples:
        entry = out.setdefault(s["pid"], {"pid": s["pid"], "rss_start_mb": s["rss_mb"], "samples": 0, "peak_mb": 0.0})
        entry["rss_end_mb"] = s["rss_mb"]
        entry["peak_mb"] = max(entry["peak_mb"], s["rss_mb"])
        entry["samples"] += 1
    return list(out.values())


# ---- output ----

def _ms(spread_: dict) -> str:
    return f"{spread_['p50']:.0f} / {spread_['p95']:.0f}" if spread_.get("n") else "–"


def render(figures: dict) -> str:
    """The generated part of bench/soak.md: the tables; the full figures follow as JSON."""
    t = figures["totals"]
    lines = [f"Run {figures['date']} on {figures['machine']}; configuration {figures['configuration']}; "
             f"code {figures['code']}.", "",
             f"**{t['calls']} calls, {t['lost']} lost** (soak {t['soak_calls']} calls, {t['soak_lost']} lost); "
             f"peak {t['peak_concurrency']} calls up at once.", "",
             "| phase | at once | calls | lost | to the default, announced | keypad (busy) | peak / mean up "
             "| calls/min | voice p50 / p95 ms "
             "| app: utterance → transfer p50 / p95 ms | names confirmed | reply p50 / p95 ms "
             "| tick late p95 / max ms | CPU % app / Asterisk / harness / trunk / others |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for f in figures["phases"]:
        cpu = f["cpu_percent"]
        cpu_text = " / ".join(f"{cpu[k]:.0f}" if k in cpu else "–" for k in ("app", "asterisk", "harness", "trunk", "others"))
        tick = f["tick_late_ms"]
        lines.append(f"| {f['phase']} | {f['concurrency']} | {f['calls']} | {f['lost']} | "
                     f"{f.get('defaulted', 0)} | {f.get('busy', 0)} | "
                     f"{f['peak_concurrency']} / {f['mean_concurrency']} | {f['calls_per_minute']} | "
                     f"{_ms(f['latency']['voice'])} | {_ms(f['app_utterance_to_transfer_ms'])} | "
                     f"{f['names_confirmed']} of {f['names']} | {_ms(f['latency']['reply'])} | "
                     f"{tick.get('p95', '–')} / {tick.get('max', '–')} | {cpu_text} |")
    lines += ["", _ceiling_text(figures["ceiling"]), "",
              "| app pid | RSS start MB | RSS end MB | peak MB | samples |", "| --- | --- | --- | --- | --- |"]
    for m in figures["app_memory"]:
        lines.append(f"| {m['pid']} | {m['rss_start_mb']} | {m['rss_end_mb']} | {m['peak_mb']} | {m['samples']} |")
    lines += ["", "Every sample (calls done, seconds since the start, RSS MB and CPU seconds so far):", "",
              "| calls | s | phase | app RSS | app CPU s | Asterisk RSS | Asterisk CPU s | machine busy s |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in figures["samples"]:
        app, ast = s.get("app", {}), s.get("asterisk", {})
        lines.append(f"| {s['calls']} | {s['t_s']} | {s['phase']} | {app.get('rss_mb', '–')} | "
                     f"{app.get('cpu_s', '–')} | {ast.get('rss_mb', '–')} | {ast.get('cpu_s', '–')} | "
                     f"{s['machine_busy_s']} |")
    lines += ["", "The mix (weights per phase; expected ends under the configuration measured):", "",
              "| caller | number | script | must end | weight | phases |", "| --- | --- | --- | --- | --- | --- |"]
    for m in figures["mix"]:
        lines.append(f"| {m['scenario']} | {m['number']} | {m['script']} | {m['expected']} | {m['weight']} | "
                     f"{', '.join(m['phases'])} |")
    lost = [dict(call, phase=f["phase"]) for f in figures["phases"] for call in f["lost_calls"]]
    if lost:
        lines += ["", "Lost calls:", ""] + [f"- {c['phase']} call {c['call']}: {c['number']} "
                                            f"({c['scenario']}: {c['script']}): {c['problem']}; the app: {c['app']}"
                                            for c in lost]
    defaulted = [dict(call, phase=f["phase"]) for f in figures["phases"] for call in f.get("defaulted_calls", [])]
    if defaulted:
        lines += ["", "Put through to the area's default, announced (not lost; where the script went unheard):", ""] + [
            f"- {c['phase']} call {c['call']}: {c['number']} ({c['scenario']}: {c['script']}); the app: {c['app']}"
            for c in defaulted]
    compact = {k: v for k, v in figures.items() if k not in ("samples", "mix")}  # tables above
    lines += ["", "```json", json.dumps(compact, indent=1, ensure_ascii=False), "```"]
    return "\n".join(lines)


def _ceiling_text(c: dict) -> str:
    limit = f"Ceiling (limit: p95 end of speech → INVITE ≤ 2 × idle = {c['limit_p95_ms']} ms, 0 lost): "
    if not c["steps"]:
        return limit + "no steps run."
    broke = c["broke_at"]
    return limit + f"held up to {c['held_up_to'] or 'no step'} at once; " + (
        f"broke at {broke['concurrency']} ({broke['why']}, p95 {broke['p95_ms']} ms, {broke['lost']} lost)."
        if broke else "no step broke it.")


def write_report(path: Path, figures: dict) -> None:
    """Replace the generated block of the file; the prose around it is kept."""
    write_block(path, "soak", render(figures), "Soak")


def summary(figures: dict) -> str:
    """The tables without the JSON, for the terminal."""
    return render(figures).split("\n```json", 1)[0]
