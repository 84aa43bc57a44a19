"""A whole soak: the app started here (`--start`, two configurations) or the running one found,
the phases in order (idle, the ceiling's steps, the soak), the figures assembled."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from fourteenplus import asterisk, sipp
from fourteenplus.commands._common import configured

from ..app import REPO, AppProcess
from ..benchfile import machine
from .ceiling import ceiling
from .judging import expect
from .mix import MIX, SURE, UNSURE, describe_script, plan
from .phase import Phase
from .placing import Runner, attach_records
from .readings import Sampler, find_app_pid, memory_by_process

TEST_SERVICE = REPO / "tests" / "integration" / "service.yaml"


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
