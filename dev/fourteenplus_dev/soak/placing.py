"""Placing a phase's calls through one trunk endpoint, so many at once, each judged as it
ends; the app's records read back once the phase is over."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

from fourteenplus import sipp

from .judging import expect, judge
from .mix import Scenario
from .phase import Outcome, Phase
from .readings import Sampler, TickProbe, cpu_percent
from .report import p50_p95

RECORD_GRACE_S = 3  # the app writes a record once the dial result is in, just after the call


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
              f"voice p50/p95 {p50_p95(f['latency']['voice'])} ms, {phase.wall_s:.0f} s", file=sys.stderr, flush=True)
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
